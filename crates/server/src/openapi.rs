//! `/openapi.json`: an OpenAPI 3.0 description of this server's own routes — the
//! CapabilityStatement, sign-in, the probes, search (GET and POST), read, the Patient
//! compartment and `$everything` — with the served types as the `type` path parameter's
//! values, for API tools and fuzzers (the tests run schemathesis against it). The FHIR
//! side of each answer is the CapabilityStatement's business; here every FHIR answer is
//! a JSON object with a `resourceType`, every error an OperationOutcome.

use serde_json::{Value, json};

/// The document, for the served resource types.
pub fn document(version: &str, types: &[&str]) -> Value {
    let fhir = |description: &str| {
        json!({
            "description": description,
            "content": {"application/fhir+json": {"schema": {"$ref": "#/components/schemas/Resource"}}}
        })
    };
    let errors = json!({
        "400": fhir("the request is not valid (an OperationOutcome)"),
        "401": fhir("no or wrong credentials"),
        "403": fhir("the user may not read this"),
        "404": fhir("no such resource or route"),
        "406": fhir("no acceptable format"),
        "422": fhir("the search cannot be run (too costly, unknown parameter)"),
        "429": fhir("too many failed sign-ins"),
        "503": fhir("the database is unavailable")
    });
    let with_errors = |ok: Value| {
        let mut responses = errors.clone();
        if let (Some(map), Value::Object(ok)) = (responses.as_object_mut(), ok) {
            map.extend(ok);
        }
        responses
    };
    let type_param = json!({
        "name": "type", "in": "path", "required": true,
        "schema": {"type": "string", "enum": types}
    });
    let id_param = json!({
        "name": "id", "in": "path", "required": true,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9\\-\\.]{1,64}$"}
    });
    // The common search parameters; each type's own are in the CapabilityStatement.
    let search_params = json!([
        {"name": "_count", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "_sort", "in": "query", "schema": {"type": "string"}},
        {"name": "_id", "in": "query", "schema": {"type": "string"}},
        {"name": "_lastUpdated", "in": "query", "schema": {"type": "string"}},
        {"name": "_include", "in": "query", "schema": {"type": "string"}},
        {"name": "_revinclude", "in": "query", "schema": {"type": "string"}},
        {"name": "_summary", "in": "query", "schema": {"type": "string", "enum": ["true", "false", "count", "text", "data"]}},
        {"name": "_total", "in": "query", "schema": {"type": "string", "enum": ["none", "estimate", "accurate"]}},
        {"name": "_elements", "in": "query", "schema": {"type": "string"}},
        {"name": "_format", "in": "query", "schema": {"type": "string"}}
    ]);
    let with_search = |path_params: Vec<Value>| {
        let mut params = path_params;
        params.extend(search_params.as_array().cloned().unwrap_or_default());
        Value::Array(params)
    };
    let type_search = with_search(vec![type_param.clone()]);
    let compartment_search = with_search(vec![id_param.clone(), type_param.clone()]);
    let bundle = || with_errors(json!({"200": fhir("a searchset Bundle")}));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "GNU Health FHIR server",
            "version": version,
            "description": "FHIR R4 (4.0.1) over GNU Health. The CapabilityStatement at /metadata lists each type's search parameters."
        },
        "security": [{"basic": []}, {"bearer": []}],
        "paths": {
            "/metadata": {"get": {
                "summary": "The CapabilityStatement", "security": [],
                "parameters": [{"name": "_format", "in": "query", "schema": {"type": "string"}}],
                "responses": with_errors(json!({"200": fhir("the CapabilityStatement")}))
            }},
            "/healthz": {"get": {
                "summary": "The process answers", "security": [],
                "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/readyz": {"get": {
                "summary": "The database answers", "security": [],
                "responses": with_errors(json!({"200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object"}}}}}))
            }},
            "/auth/token": {"post": {
                "summary": "A bearer token for a GNU Health user", "security": [],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["login", "password"],
                    "properties": {"login": {"type": "string"}, "password": {"type": "string"}}
                }}}},
                "responses": with_errors(json!({"200": {"description": "the token", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}}
                }}}}}))
            }},
            "/{type}": {"get": {
                "summary": "Search a type",
                "parameters": type_search,
                "responses": bundle()
            }},
            "/{type}/_search": {"post": {
                "summary": "Search a type with the parameters in a form",
                "parameters": [type_param],
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "additionalProperties": {"type": "string"}
                }}}},
                "responses": bundle()
            }},
            "/{type}/{id}": {"get": {
                "summary": "Read a resource",
                "parameters": [type_param.clone(), id_param.clone(), {"name": "_format", "in": "query", "schema": {"type": "string"}}],
                "responses": with_errors(json!({"200": fhir("the resource")}))
            }},
            "/Patient/{id}/{type}": {"get": {
                "summary": "Search a type in a patient's compartment",
                "parameters": compartment_search,
                "responses": bundle()
            }},
            "/Patient/{id}/$everything": {"get": {
                "summary": "Everything of a patient",
                "parameters": [id_param, {"name": "_count", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "_since", "in": "query", "schema": {"type": "string"}},
                    {"name": "_type", "in": "query", "schema": {"type": "string"}},
                    {"name": "start", "in": "query", "schema": {"type": "string"}},
                    {"name": "end", "in": "query", "schema": {"type": "string"}}],
                "responses": bundle()
            }}
        },
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "a GNU Health login and password"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /auth/token"}
            },
            "schemas": {
                "Resource": {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
            }
        }
    })
}

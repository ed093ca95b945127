#!/usr/bin/env python3
"""Parses everything a running gnuhealth-fhir server emits as XML with an independent
FHIR R4 library (fhir.resources 6.4.0, its own XML reader on lxml), and checks that the
XML says what the JSON says: each page and read is fetched in both formats, both are
parsed by the library, and the two models must be equal.

Covers the CapabilityStatement, every page of every resource type it lists (up to a
limit per type), one read per type, Patient/[id]/$everything of the first patients,
subset answers (_summary, _elements) and error OperationOutcomes. Exits 1 on any
problem.

Usage: xml_check.py BASE_URL LOGIN PASSWORD [MAX_PER_TYPE]
"""
import base64
import html
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from fhir.resources import get_fhir_model_class
from lxml import etree

XML = "application/fhir+xml"
JSON = "application/fhir+json"



def normalized_divs(value):
    """The parsed model with every narrative div's character references resolved: the
    library writes the XHTML it parsed from XML with `&#237;` where the JSON has `í`."""
    if isinstance(value, dict):
        return {k: (html.unescape(v) if k == "div" and isinstance(v, str)
                    else normalized_divs(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized_divs(v) for v in value]
    return value

def tag_sequence(xml):
    """Every element's local name, in document order."""
    return [etree.QName(e).localname for e in etree.fromstring(xml).iter(etree.Element)]


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, login, password = sys.argv[1:4]
    max_per_type = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    auth = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    problems = []
    parsed = {"n": 0}

    def fetch(url, accept, with_auth=True):
        req = urllib.request.Request(url, headers={"Accept": accept})
        if with_auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def check(url, want_status=200, with_auth=True):
        """Fetch `url` as XML and as JSON, parse both, compare; returns the JSON."""
        status, ctype, xml = fetch(url, XML, with_auth)
        jstatus, _, body = fetch(url, JSON, with_auth)
        if status != want_status or jstatus != want_status:
            problems.append(f"{url}: HTTP {status} (XML) / {jstatus} (JSON), expected {want_status}")
            return None
        if not ctype.startswith(XML):
            problems.append(f"{url}: Content-Type {ctype!r} for XML")
            return None
        data = json.loads(body)
        try:
            cls = get_fhir_model_class(data["resourceType"])
            from_xml = cls.parse_raw(xml, content_type="text/xml")
            from_json = cls.parse_obj(data)
        except Exception as e:  # any failure of the library is a finding
            problems.append(f"{url}: {type(e).__name__}: {e}")
            return data
        if normalized_divs(from_xml.dict()) != normalized_divs(from_json.dict()):
            problems.append(f"{url}: the XML and the JSON differ once parsed")
        # The library's reader does not check element order; its writer follows its own
        # copy of the definitions: the same elements must come in the same order.
        ours, theirs = tag_sequence(xml), tag_sequence(from_json.xml(return_bytes=True))
        if ours != theirs:
            at = next(i for i, (a, b) in enumerate(zip(ours + [None], theirs + [None])) if a != b)
            problems.append(f"{url}: element order differs from the library's at {ours[at:at + 3]} / {theirs[at:at + 3]}")
        parsed["n"] += 1 + len(data.get("entry", []))
        return data

    cs = check(f"{base}/metadata", with_auth=False)
    if cs is None:
        print("\n".join(problems), file=sys.stderr)
        return 1
    counts = {}
    for r in cs["rest"][0]["resource"]:
        t = r["type"]
        url = f"{base}/{t}?_count=200"
        n = 0
        first_id = None
        while url and n < max_per_type:
            page = check(url)
            if page is None:
                break
            entries = page.get("entry", [])
            n += len(entries)
            if first_id is None and entries:
                first_id = entries[0]["resource"]["id"]
            url = next((l["url"] for l in page.get("link", []) if l["relation"] == "next"), None)
        counts[t] = n
        if first_id is not None:
            check(f"{base}/{t}/{urllib.parse.quote(first_id)}")
            check(f"{base}/{t}/{urllib.parse.quote(first_id)}?_summary=true")
        check(f"{base}/{t}?_summary=true&_count=50")
        check(f"{base}/{t}?_summary=count")
    # Patient/[id]/$everything of the first patients, every page.
    patients = check(f"{base}/Patient?_count=3") or {}
    for e in patients.get("entry", []):
        url = f"{base}/Patient/{e['resource']['id']}/$everything?_count=50"
        while url:
            page = check(url)
            if page is None:
                break
            counts["everything"] = counts.get("everything", 0) + len(page.get("entry", []))
            url = next((l["url"] for l in page.get("link", []) if l["relation"] == "next"), None)
    check(f"{base}/Patient/$everything", 400)
    check(f"{base}/Patient?_elements=name,birthDate&_count=50")
    check(f"{base}/Patient/0", 404)
    check(f"{base}/Patient?no-such-parameter=1", 400)
    check(f"{base}/Patient", 401, with_auth=False)

    for p in problems:
        print(p)
    summary = " ".join(f"{t}={n}" for t, n in counts.items())
    print(f"xml_check: {summary}; parsed {parsed['n']} resources from XML, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

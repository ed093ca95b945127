#!/usr/bin/env python3
"""A tiny FHIR R4 mock that serves the facts JSON, to self-test
compat/test_fhir.py (NOT the product; the real server is the Rust binary).

  python compat/selftest/mock_fhir.py --facts facts.json --port 8099

It builds each resource from the facts the way test_fhir.py expects, and
implements the search parameters the tests use.  `bash
compat/selftest/run_selftest.sh` runs test_fhir.py against it.
"""
import argparse
import base64
import datetime as dt
import json
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

ICD10 = 'http://hl7.org/fhir/sid/icd-10'
PASSWORDS = {'admin': 'gnusolidario', 'abetz': 'gnusolidario-Betz1',
             'fhir_reader': 'fhir-Reader-2024!',
             'frontdesk': 'gnusolidario-Front1', 'nogroup': 'gnusolidario-None1'}
MODELS = {
    'Patient': ['gnuhealth.patient'],
    'Practitioner': ['gnuhealth.healthprofessional'],
    'Organization': ['gnuhealth.institution'],
    'Condition': ['gnuhealth.patient.disease'],
    'Observation': ['gnuhealth.lab.test.critearea'],
    'DiagnosticReport': ['gnuhealth.lab'],
    'Procedure': ['gnuhealth.surgery', 'gnuhealth.operation',
                  'gnuhealth.patient.procedure'],
    'FamilyMemberHistory': ['gnuhealth.patient.family.diseases'],
    'Medication': ['gnuhealth.medicament'],
    'MedicationStatement': ['gnuhealth.patient.medication'],
    'Immunization': ['gnuhealth.vaccination'],
}
SEVERITY = {'1_mi': '255604002', '2_mo': '6736007', '3_sv': '24484000'}
REL = {'mother': 'MTH', 'father': 'FTH', 'brother': 'BRO', 'sister': 'SIS',
       'son': 'SON', 'daughter': 'DAU', 'nephew': 'NEPHEW', 'niece': 'NIECE'}
SIDED = {'aunt': 'AUNT', 'uncle': 'UNCLE', 'grandfather': 'GRFTH',
         'grandmother': 'GRMTH', 'cousin': 'COUSN'}


def z(v):
    return v + 'Z' if v and len(v) > 10 else v


def cc(code, system=None, display=None, text=None):
    c = {'code': code}
    if system:
        c['system'] = system
    if display:
        c['display'] = display
    out = {'coding': [c]}
    if text:
        out['text'] = text
    return out


def norm(s):
    s = unicodedata.normalize('NFKD', s or '')
    return ''.join(c for c in s if not unicodedata.combining(c)).casefold()


class Store:
    def __init__(self, facts):
        self.facts = facts
        self.res = facts['resources']
        self.meds = {m['id']: m for m in self.res['Medication']}
        self.build = {t: getattr(self, 'b_' + t) for t in MODELS}

    # --- resource builders -------------------------------------------------
    def b_Patient(self, f):
        names = []
        for n in f['names']:
            hn = {'use': n['use']}
            if n['family']:
                hn['family'] = n['family']
            if n['given']:
                hn['given'] = [n['given']]
            names.append(hn)
        r = {'resourceType': 'Patient', 'id': f['id'], 'active': f['active'],
             'name': names, 'gender': f['gender'],
             'identifier': [{'value': v} for v in
                            [f['puid'], f['federation_account']]
                            + [a['code'] for a in f['alternative_ids']] if v],
             'telecom': [{'system': t['system'], 'value': t['value']}
                         for t in f['telecom'] if not t['emergency']],
             'contact': [{'telecom': [{'system': t['system'],
                                       'value': t['value']}]}
                         for t in f['telecom'] if t['emergency']],
             'address': ([{'city': f['du_city']}] if f['du_city'] else [])
             + [{'city': a['city']} for a in f['addresses'] if a['city']]}
        if f['birthDate']:
            r['birthDate'] = f['birthDate']
        if f['deceasedDateTime']:
            r['deceasedDateTime'] = z(f['deceasedDateTime'])
        else:
            r['deceasedBoolean'] = f['deceased']
        if f['general_practitioner']:
            r['generalPractitioner'] = [
                {'reference': f"Practitioner/{f['general_practitioner']}"}]
        if f['language']:
            r['communication'] = [{'language': cc(
                f['language'].replace('_', '-'), 'urn:ietf:bcp:47')}]
        return r

    def b_Practitioner(self, f):
        return {'resourceType': 'Practitioner', 'id': f['id'],
                'active': f['active'],
                'name': [{'use': 'official', 'family': f['family'],
                          'given': f['given'].split()}],
                'identifier': [{'value': f['licence']}],
                'qualification': [{'code': cc(s)} for s in f['specialties']]}

    def b_Organization(self, f):
        return {'resourceType': 'Organization', 'id': f['id'],
                'active': f['active'], 'name': f['name'],
                'identifier': [{'value': f['code']}],
                'type': [cc(f['institution_type'])]}

    def b_Condition(self, f):
        st = 'resolved' if f['status'] == 'h' or f['healed_date'] else (
            'active' if f['is_active'] else 'inactive')
        r = {'resourceType': 'Condition', 'id': f['id'],
             'subject': {'reference': f"Patient/{f['patient']}"},
             'code': cc(f['code'], ICD10, f['display']),
             'clinicalStatus': cc(st, 'http://terminology.hl7.org/'
                                  'CodeSystem/condition-clinical')}
        if f['diagnosed_date']:
            r['onsetDateTime'] = f['diagnosed_date']
        if f['healed_date']:
            r['abatementDateTime'] = f['healed_date']
        if f['severity']:
            r['severity'] = cc(SEVERITY[f['severity']], 'http://snomed.info/sct')
        return r

    def b_Observation(self, f):
        r = {'resourceType': 'Observation', 'id': f['id'], 'status': 'final',
             'category': [cc('laboratory')],
             'code': cc(f['code'], None, f['name']),
             'subject': {'reference': f"Patient/{f['patient']}"},
             'effectiveDateTime': z(f['date_analysis'])}
        if f['result'] is not None:
            r['valueQuantity'] = {'value': f['result'], 'unit': f['unit']}
        elif f['result_text']:
            r['valueString'] = f['result_text']
        rr = {}
        if f['lower_limit'] is not None:
            rr['low'] = {'value': f['lower_limit']}
        if f['upper_limit'] is not None:
            rr['high'] = {'value': f['upper_limit']}
        if rr:
            r['referenceRange'] = [rr]
        return r

    def b_DiagnosticReport(self, f):
        return {'resourceType': 'DiagnosticReport', 'id': f['id'],
                'status': 'final', 'code': cc(f['test_code']),
                'identifier': [{'value': f['name']}],
                'subject': {'reference': f"Patient/{f['patient']}"},
                'effectiveDateTime': z(f['date_analysis']),
                'result': [{'reference': f'Observation/{i}'}
                           for i in f['results']]}

    def b_Procedure(self, f):
        return {'resourceType': 'Procedure', 'id': f['id'],
                'status': 'completed', 'code': cc(f['code']),
                'subject': {'reference': f"Patient/{f['patient']}"},
                'performedDateTime': z(f['date'])}

    def b_FamilyMemberHistory(self, f):
        code = REL.get(f['relative'])
        if not code and f['relative'] in SIDED:
            code = {'m': 'M', 'f': 'P'}.get(f['xory'], '') + SIDED[f['relative']]
        return {'resourceType': 'FamilyMemberHistory', 'id': f['id'],
                'status': 'completed',
                'patient': {'reference': f"Patient/{f['patient']}"},
                'relationship': cc(code),
                'condition': [{'code': cc(f['code'], ICD10)}]}

    def b_Medication(self, f):
        return {'resourceType': 'Medication', 'id': f['id'],
                'code': {'text': f['name']},
                'status': 'active' if f['active'] else 'inactive',
                'form': cc(f['form']),
                'ingredient': [{'itemCodeableConcept':
                                {'text': f['active_component']}}]}

    def b_MedicationStatement(self, f):
        st = ('stopped' if f['discontinued'] else 'completed'
              if f['course_completed'] else 'active' if f['is_active']
              else 'completed')
        p = {'start': z(f['start'])}
        if f['end']:
            p['end'] = z(f['end'])
        return {'resourceType': 'MedicationStatement', 'id': f['id'],
                'status': st,
                'medicationReference': {
                    'reference': f"Medication/{f['medication']}"},
                'subject': {'reference': f"Patient/{f['patient']}"},
                'effectivePeriod': p}

    def b_Immunization(self, f):
        return {'resourceType': 'Immunization', 'id': f['id'],
                'status': 'completed',
                'vaccineCode': {'text': self.meds[f['vaccine']]['name']},
                'patient': {'reference': f"Patient/{f['patient']}"},
                'occurrenceDateTime': z(f['date']), 'lotNumber': f['lot'],
                'protocolApplied': [{'doseNumberPositiveInt': f['dose']}]}

    # --- search ------------------------------------------------------------
    def match(self, rtype, f, name, value):
        def refm(target, prefix):
            v = value.split('/')[-1]
            return target == v and (('/' not in value)
                                    or value.startswith(prefix + '/'))
        if name == '_count':
            return True
        if name in ('patient', 'subject'):
            return refm(f['patient'], 'Patient')
        if name == 'general-practitioner':
            return refm(f['general_practitioner'], 'Practitioner')
        if name == 'medication':
            return refm(f['medication'], 'Medication')
        if name == 'code':
            system, _, code = value.rpartition('|')
            fc = f['test_code'] if rtype == 'DiagnosticReport' else f['code']
            if system and rtype in ('Condition', 'FamilyMemberHistory') \
                    and system != ICD10:
                return False
            if system and rtype not in ('Condition', 'FamilyMemberHistory'):
                return False
            return fc == code
        if name in ('family', 'given', 'name'):
            vals = []
            for n in f['names']:
                if name in ('family', 'name') and n['family']:
                    vals.append(n['family'])
                if name in ('given', 'name') and n['given']:
                    vals += [n['given']] + n['given'].split()[1:]
            return any(norm(v).startswith(norm(value)) for v in vals)
        if name == 'gender':
            return f['gender'] == value
        if name == 'identifier':
            return value in [f['puid'], f['federation_account']] + \
                [a['code'] for a in f['alternative_ids']]
        if name == 'telecom':
            return value in [t['value'] for t in f['telecom']]
        if name == 'address-city':
            return norm(f['du_city'] or '').startswith(norm(value)) or any(
                norm(a['city'] or '').startswith(norm(value))
                for a in f['addresses'])
        if name in ('active', 'deceased'):
            return f[name] == (value == 'true')
        if name == 'lot-number':
            return f['lot'] == value
        if name in ('birthdate', 'date', 'onset-date'):
            field = {'birthdate': 'birthDate', 'onset-date': 'diagnosed_date',
                     'date': {'Observation': 'date_analysis',
                              'DiagnosticReport': 'date_analysis'}.get(
                                  rtype, 'date')}[name]
            v = f[field]
            if not v:
                return False
            prefix = value[:2] if value[:2].isalpha() else 'eq'
            q = value[2:] if value[:2].isalpha() else value
            lo = dt.date.fromisoformat(q + '-01-01' if len(q) == 4 else q)
            hi = dt.date(lo.year + 1, 1, 1) if len(q) == 4 else \
                lo + dt.timedelta(days=1)
            d = dt.date.fromisoformat(v[:10])
            return {'eq': lo <= d < hi, 'ge': d >= lo, 'lt': d < lo,
                    'gt': d >= hi, 'le': d < hi}[prefix]
        raise ValueError(f'unsupported search parameter {name}')


class Handler(BaseHTTPRequestHandler):
    store = None

    def log_message(self, *a):
        pass

    def send(self, code, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/fhir+json')
        self.send_header('Content-Length', str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def oo(self, code, msg, extra=None):
        self.send(code, {'resourceType': 'OperationOutcome', 'issue': [
            {'severity': 'error', 'code': 'processing', 'diagnostics': msg}]},
            extra)

    def user(self):
        h = self.headers.get('Authorization', '')
        if not h.startswith('Basic '):
            return None
        login, _, pw = base64.b64decode(h[6:]).decode().partition(':')
        return login if PASSWORDS.get(login) == pw else None

    def do_GET(self):
        st = self.store
        parts = urlsplit(self.path)
        path = parts.path.strip('/').split('/')
        if path == ['metadata']:
            return self.send(200, {
                'resourceType': 'CapabilityStatement', 'status': 'active',
                'kind': 'instance', 'fhirVersion': '4.0.1',
                'format': ['json'], 'rest': [{'mode': 'server', 'resource': [
                    {'type': t} for t in MODELS]}]})
        login = self.user()
        if login is None:
            return self.oo(401, 'authentication required',
                           {'WWW-Authenticate': 'Basic realm="fhir"'})
        rtype = path[0]
        if rtype not in MODELS:
            return self.oo(404, 'unknown type')
        sec = st.facts['security'].get(login)
        if sec and not all(sec['models'][m]['read'] for m in MODELS[rtype]):
            return self.oo(403, 'forbidden')
        recs = st.res[rtype]
        if len(path) == 2:
            for f in recs:
                if f['id'] == path[1]:
                    return self.send(200, st.build[rtype](f))
            return self.oo(404, 'not found')
        params = parse_qsl(parts.query, keep_blank_values=True)
        try:
            hits = [f for f in recs
                    if all(st.match(rtype, f, k, v) for k, v in params
                           if k not in ('_count', '_offset'))]
        except ValueError as e:
            return self.oo(400, str(e))
        q = dict(params)
        count = int(q.get('_count', 50))
        off = int(q.get('_offset', 0))
        page = hits[off:off + count]
        base = f'http://{self.headers["Host"]}/{rtype}'
        keep = [(k, v) for k, v in params if k != '_offset']
        links = [{'relation': 'self', 'url': base + '?' + urlencode(params)}]
        if off + count < len(hits):
            links.append({'relation': 'next', 'url': base + '?' + urlencode(
                keep + [('_offset', off + count)])})
        self.send(200, {'resourceType': 'Bundle', 'type': 'searchset',
                        'total': len(hits), 'link': links,
                        'entry': [{'resource': st.build[rtype](f),
                                   'search': {'mode': 'match'}}
                                  for f in page]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--facts', required=True)
    ap.add_argument('--port', type=int, default=8099)
    args = ap.parse_args()
    with open(args.facts, encoding='utf-8') as f:
        Handler.store = Store(json.load(f))
    ThreadingHTTPServer(('127.0.0.1', args.port), Handler).serve_forever()


if __name__ == '__main__':
    main()

"""What the FHIR checks of compat/ share: the server, the facts and the user,
from the environment described in test_fhir.py. Importing it skips the calling
test module when FHIR_BASE or FACTS is unset."""
import json
import os

import pytest

FHIR_BASE = os.environ.get('FHIR_BASE', '').rstrip('/')
FACTS_PATH = os.environ.get('FACTS', '')
if not FHIR_BASE or not FACTS_PATH:
    pytest.skip('FHIR_BASE and FACTS are not set', allow_module_level=True)

# passwords set by compat/populate.py
KNOWN_PASSWORDS = {
    'admin': 'gnusolidario',
    'abetz': 'gnusolidario-Betz1',
    'fhir_reader': 'fhir-Reader-2024!',
    'frontdesk': 'gnusolidario-Front1',
    'nogroup': 'gnusolidario-None1',
}
USER = os.environ.get('FHIR_USER', 'fhir_reader')
PASSWORD = os.environ.get('FHIR_PASSWORD', KNOWN_PASSWORDS.get(USER, ''))
TIMEOUT = float(os.environ.get('FHIR_TIMEOUT', '60'))

with open(FACTS_PATH, encoding='utf-8') as _f:
    FACTS = json.load(_f)

#!/usr/bin/env python3
"""Populate a GNU Health 5.0 database with realistic sample data.

Uses proteus (the Tryton client library) in "trytond" mode, i.e. it runs the
Tryton ORM in-process against the database: every business rule
(create() overrides, validation, default values, sequences, auto-created
gnuhealth.patient rows, official gnuhealth.person_name rows, ...) is applied
exactly as the GNU Health GTK client would apply it.

Usage:
  python compat/populate.py --config trytond-sqlite.conf --database health
  python compat/populate.py --config trytond-pg.conf \
      --database postgresql://gnuhealth:gnuhealth@127.0.0.1:5432/health

Prerequisites: modules health health_lab health_surgery health_genetics
health_nursing health_inpatient health_icd10 activated (see compat/setup.sh).
The script is NOT idempotent: run it once on a fresh database.
"""
import argparse
import datetime as dt
import sys
import time
import uuid
from decimal import Decimal

T0 = time.time()

ap = argparse.ArgumentParser()
ap.add_argument('--config', required=True, help='trytond config file')
ap.add_argument('--database', required=True,
                help='database name (sqlite) or full postgresql:// URI')
ap.add_argument('--fhir-password', default='fhir-Reader-2024!',
                help='password of the extra user "fhir_reader"')
ap.add_argument('--frontdesk-password', default='gnusolidario-Front1',
                help='password of the extra user "frontdesk"')
ap.add_argument('--nogroup-password', default='gnusolidario-None1',
                help='password of the extra user "nogroup"')
ap.add_argument('--nurse-password', default='gnusolidario-Nurse1',
                help='password of the extra user "nurse"')
ap.add_argument('--labtech-password', default='gnusolidario-Lab1',
                help='password of the extra user "labtech"')
args = ap.parse_args()

from proteus import Model, Wizard, config as pconfig  # noqa: E402

database = args.database
if '://' not in database:
    # proteus wants a URI; for sqlite the path part is the database name and
    # the directory comes from [database] path in the config file.
    database = 'sqlite:///' + database
cfg = pconfig.set_trytond(database=database, config_file=args.config)


def log(msg):
    print(f'[{time.time() - T0:6.1f}s] {msg}', flush=True)


def get(model, domain, one=True):
    M = Model.get(model)
    res = M.find(domain)
    if one:
        if len(res) != 1:
            raise RuntimeError(f'{model} {domain} -> {len(res)} records')
        return res[0]
    return res


def dtm(s):
    """'2024-03-01 09:30' -> naive datetime (Tryton stores UTC, naive)."""
    return dt.datetime.strptime(s, '%Y-%m-%d %H:%M')


def d(s):
    return dt.date.fromisoformat(s)


def pcode(label):
    """Deterministic party.code in GNU Health's '<uuid>-<institution>' form
    (party.create() would otherwise generate a random uuid4)."""
    return '%s-GNU Solidario Hospital' % uuid.uuid5(uuid.NAMESPACE_URL,
                                                    'gh-demo:' + label)


def force_write(record, **values):
    """Server-side ModelStorage.write().

    proteus silently drops fields that are readonly in the view definition
    (workflow 'state', 'signed_by', 'done_date', ...).  GNU Health's buttons
    set those fields to *now*; to keep historical sample data consistent we
    write them directly through the model proxy (the server does not enforce
    the view 'readonly' attribute)."""
    vals = {k: (v.id if hasattr(v, 'id') else v) for k, v in values.items()}
    record.__class__._proxy.write([record.id], vals, cfg.context)
    record.reload()


# ---------------------------------------------------------------------------
# Reference data: languages, countries, subdivisions, currency
# ---------------------------------------------------------------------------
Lang = Model.get('ir.lang')
en, = Lang.find([('code', '=', 'en')])
es, = Lang.find([('code', '=', 'es')])

Country = Model.get('country.country')
Subdivision = Model.get('country.subdivision')


def country(code, code3, num, name):
    c = Country(code=code, code3=code3, code_numeric=num, name=name)
    c.save()
    return c


spain = country('ES', 'ESP', '724', 'Spain')
argentina = country('AR', 'ARG', '032', 'Argentina')
germany = country('DE', 'DEU', '276', 'Germany')
canarias = Subdivision(country=spain, code='ES-CN', name='Canarias',
                       type='autonomous community')
canarias.save()
las_palmas = Subdivision(country=spain, code='ES-GC', name='Las Palmas',
                         type='province', parent=canarias)
las_palmas.save()
entre_rios = Subdivision(country=argentina, code='AR-E', name='Entre Rios',
                         type='province')
entre_rios.save()
log('countries / subdivisions created')

# Federation country (used by GNU Health for PUID / federation prefixes)
FedCountry = Model.get('gnuhealth.federation.country.config')
fed = FedCountry(1) if FedCountry.find([]) else FedCountry()
fed.country = spain
fed.save()

Currency = Model.get('currency.currency')
eur = Currency(name='Euro', code='EUR', symbol='€', numeric_code='978',
               rounding=Decimal('0.01'), digits=2)
eur.save()

# ---------------------------------------------------------------------------
# Company + Health Institution
# ---------------------------------------------------------------------------
Party = Model.get('party.party')
Company = Model.get('company.company')
Institution = Model.get('gnuhealth.institution')
DU = Model.get('gnuhealth.du')

hosp_party = Party(name='GNU Solidario Hospital', is_institution=True,
                   ref='NP-GNUSOL-HOSP', code=pcode('hospital'),
                   is_person=False, create_target=False)
addr = hosp_party.addresses.new()
addr.street = 'Avenida Marítima 12'
addr.postal_code = '35001'
addr.city = 'Las Palmas de Gran Canaria'
addr.country = spain
addr.subdivision = las_palmas
cm = hosp_party.contact_mechanisms.new(type='phone', value='+34 928 000 001')
cm = hosp_party.contact_mechanisms.new(type='email',
                                       value='info@gnusolidario-hospital.org')
cm = hosp_party.contact_mechanisms.new(type='website',
                                       value='https://hospital.example.org')
hosp_party.save()

company = Company(party=hosp_party, currency=eur, timezone='Atlantic/Canary')
company.save()

User = Model.get('res.user')
admin, = User.find([('login', '=', 'admin')])
admin.companies.append(Company(company.id))
admin.company = company
admin.save()
# reload context so that the new company is in the proteus context
cfg._context = User.get_preferences(True, {})
log('company created and assigned to admin')

Specialty = Model.get('gnuhealth.specialty')
InstSpecialty = Model.get('gnuhealth.institution.specialties')
# specialties come from health/data/health_specialties.xml
sp_gp, = Specialty.find([('code', '=', 'GP')])
sp_surg, = Specialty.find([('code', '=', 'GENERALSURG')])
sp_ped, = Specialty.find([('code', '=', 'PEDIATRICS')])
sp_nursing, = Specialty.find([('code', '=', 'NURSING')])
sp_anest, = Specialty.find([('code', '=', 'ANESTHESIO')])

hospital = Institution(party=hosp_party, code='GNUSOL-HOSP-01',
                       institution_type='hospital', public_level='mixed',
                       beds=120, operating_room=True, or_number=2,
                       teaching=True, heliport=False, trauma_center=True,
                       trauma_level='two',
                       extra_info='Reference hospital, Gran Canaria')
hospital.save()
hsp = InstSpecialty(institution=hospital, specialty=sp_gp)
hsp.save()
hsp2 = InstSpecialty(institution=hospital, specialty=sp_surg)
hsp2.save()
hospital.main_specialty = hsp
hospital.save()

clinic_party = Party(name='Centro de Salud Vegueta', is_institution=True,
                     ref='NP-CS-VEGUETA', code=pcode('clinic'),
                     is_person=False, create_target=False)
clinic_party.save()
clinic = Institution(party=clinic_party, code='CS-VEGUETA',
                     institution_type='primary_care', public_level='public')
clinic.save()

# Hospital infrastructure (building, unit, ward, bed, operating room)
Building = Model.get('gnuhealth.hospital.building')
Unit = Model.get('gnuhealth.hospital.unit')
Ward = Model.get('gnuhealth.hospital.ward')
Bed = Model.get('gnuhealth.hospital.bed')
OR = Model.get('gnuhealth.hospital.or')
Template = Model.get('product.template')
Product = Model.get('product.product')
Uom = Model.get('product.uom')
unit_uom, = Uom.find([('name', '=', 'Unit')])

building = Building(name='Main Building', code='MAIN', institution=hospital)
building.save()
hunit = Unit(name='Internal Medicine', code='IM', institution=hospital)
hunit.save()
ward = Ward(name='Ward 3B', institution=hospital, building=building,
            unit=hunit, floor=3, gender='unisex', number_of_beds=10,
            state='beds_available')
ward.save()


def product(name, type_='goods', code=None, **flags):
    tpl = Template(name=name, type=type_, default_uom=unit_uom,
                   list_price=Decimal('10'))
    if code:
        tpl.code = code
    tpl.save()
    prod = tpl.products[0]
    for k, v in flags.items():
        setattr(prod, k, v)
    prod.save()
    return prod


bed_prod = product('Bed 3B-01', 'assets', is_bed=True)
# gnuhealth.hospital.bed has no name column: its rec_name is the product name
bed = Bed(product=bed_prod, institution=hospital, ward=ward,
          bed_type='electric')
bed.save()
oroom = OR(name='OR-1', institution=hospital, building=building,
           unit=hunit, state='free')
oroom.save()
log('institution, clinic, building/ward/bed/OR created')

# ---------------------------------------------------------------------------
# Health professionals (linked to Tryton users)
# ---------------------------------------------------------------------------
HP = Model.get('gnuhealth.healthprofessional')
HPSpecialty = Model.get('gnuhealth.hp_specialty')

# The demo_* users shipped by GNU Health are XML records (inactive, password
# "gnusolidario") and cannot be modified; create a real user for Dr. Betz.
Group = Model.get('res.group')
doctor_group, = Group.find([('name', '=', 'Health Doctor')])
abetz = User(login='abetz', name='Ana Betz', password='gnusolidario-Betz1')
abetz.groups.append(doctor_group)
abetz.companies.append(Company(company.id))
abetz.company = company
abetz.save()


def person(name, lastname, gender, dob=None, **kw):
    kw.setdefault('code', pcode(f'{name} {lastname}'))
    if kw.get('ref'):
        # deterministic Federation account: 3-letter prefix + PUID
        kw.setdefault('federation_account', 'ESP' + kw['ref'])
    p = Party(name=name, lastname=lastname, gender=gender, is_person=True,
              dob=dob, **kw)
    return p


hp1_party = person('Cameron', 'Cordara', 'f', d('1975-06-14'), ref='HP0000001',
                   is_healthprof=True, create_target=False,
                   internal_user=admin, marital_status='m',
                   name_representation='gf')
hp1_party.contact_mechanisms.new(type='email',
                                 value='c.cordara@gnusolidario-hospital.org')
hp1_party.contact_mechanisms.new(type='phone', value='+34 928 000 101')
hp1_party.save()
hp1 = HP(party=hp1_party, code='MED-0001', institution=hospital,
         info='Internal medicine / family physician')
hp1.specialties.new(specialty=sp_gp, mainsp=True)
hp1.specialties.new(specialty=sp_anest, mainsp=False)
hp1.save()

hp2_party = person('Ana', 'Betz', 'f', d('1980-02-03'), ref='HP0000002',
                   is_healthprof=True,
                   create_target=False, internal_user=abetz)
hp2_party.save()
hp2 = HP(party=hp2_party, code='MED-0002', institution=hospital)
hp2.specialties.new(specialty=sp_surg, mainsp=True)
hp2.save()

hp3_party = person('Pedro', 'Ramos', 'm', d('1969-11-30'), ref='HP0000003',
                   is_healthprof=True, create_target=False)
hp3_party.save()
hp3 = HP(party=hp3_party, code='NUR-0107', institution=clinic)
hp3.specialties.new(specialty=sp_nursing, mainsp=True)
hp3.specialties.new(specialty=sp_ped, mainsp=False)
hp3.save()
log('health professionals created (admin -> Dr. Cordara)')

# ---------------------------------------------------------------------------
# Patients
# ---------------------------------------------------------------------------
Patient = Model.get('gnuhealth.patient')
PersonName = Model.get('gnuhealth.person_name')
AltID = Model.get('gnuhealth.person_alternative_identification')

du1 = DU(name='DU-LPA-0001', address_street='Calle Mayor de Triana',
         address_street_number='45', address_street_bis='2A',
         address_district='Triana', address_municipality='Las Palmas',
         address_city='Las Palmas de Gran Canaria', address_zip='35002',
         address_country=spain, address_subdivision=las_palmas,
         dwelling='apartment', materials='concrete', roof_type='concrete',
         bedrooms=3, bathrooms=1, total_surface=95, housing='2',
         water=True, sewers=True, electricity=True, internet=True,
         latitude=Decimal('28.10384'), longitude=Decimal('-15.41441'))
du1.save()
du2 = DU(name='DU-PNA-0002', address_street='Calle San Martín',
         address_street_number='1020', address_city='Paraná',
         address_zip='E3100', address_country=argentina,
         address_subdivision=entre_rios, dwelling='single_house')
du2.save()

# Patient 1: John Zenon (male, married)
p1_party = person('John', 'Zenon', 'm', d('1977-04-12'), is_patient=True,
                  marital_status='m', du=du1, citizenship=spain,
                  residence=spain, ref='ESP123456A', lang=en,
                  alternative_identification=True)
# tiny generated PNG as patient photo (party.photo, bytea / BLOB)
import io
from PIL import Image, ImageDraw
_img = Image.new('RGB', (64, 64), (200, 220, 255))
ImageDraw.Draw(_img).ellipse((16, 8, 48, 40), fill=(240, 200, 170))
_buf = io.BytesIO()
_img.save(_buf, format='PNG')
p1_party.photo = _buf.getvalue()
p1_party.contact_mechanisms.new(type='phone', value='+34 928 555 123')
p1_party.contact_mechanisms.new(type='mobile', value='+34 600 123 456')
p1_party.contact_mechanisms.new(type='email', value='john.zenon@example.com')
p1_party.contact_mechanisms.new(type='phone', value='+34 600 999 888',
                                emergency=True, remarks='Wife: Mary Zenon')
a = p1_party.addresses.new()
a.street = 'Calle Mayor de Triana 45, 2A'
a.postal_code = '35002'
a.city = 'Las Palmas de Gran Canaria'
a.country = spain
a.subdivision = las_palmas
w = p1_party.addresses.new()
w.name = 'Puerto de la Luz offices'
w.street = 'Explanada Tomás Quevedo s/n'
w.city = 'Las Palmas de Gran Canaria'
w.country = spain
w.is_work = True
p1_party.save()
# additional (non official) names
PersonName(party=p1_party, use='nickname', given='Johnny').save()
PersonName(party=p1_party, use='maiden', given='John', family='Zenon Ruiz',
           date_to=d('2001-01-01')).save()


def alt_id(party, **values):
    # gnuhealth.person_alternative_identification.party is readonly=True
    # (normally filled through the party form's One2Many 'alternative_ids')
    rec = AltID(**values)
    rec.save()
    force_write(rec, party=party)
    return rec


alt_id(p1_party, alternative_id_type='passport', code='PA1234567',
       expiration_date=d('2030-12-31'))
alt_id(p1_party, alternative_id_type='country_id', code='12345678Z')
alt_id(p1_party, alternative_id_type='medical_record', code='MRN-0000451')
p1, = Patient.find([('party', '=', p1_party.id)])
p1.primary_care_doctor = hp1
p1.blood_type = 'A'
p1.rh = '+'
p1.biological_sex = 'm'
p1.general_info = 'Works as a harbour administrator.'
p1.smoking = False
p1.ex_smoker = True
p1.alcohol = True
p1.alcohol_wine_number = 1
p1.exercise = True
p1.exercise_minutes_day = 30
p1.critical_info = 'Penicillin allergy'
p1.save()

# Patient 2: Ana Isabel Garcia (female, single), Argentina
p2_party = person('Ana Isabel', 'Garcia', 'f', d('1985-09-23'),
                  ref='ARG31456789',
                  is_patient=True, marital_status='s', du=du2,
                  citizenship=argentina, residence=argentina, lang=es,
                  name_representation='pgfs')
p2_party.contact_mechanisms.new(type='mobile', value='+54 343 155 123456')
p2_party.contact_mechanisms.new(type='email', value='ana.garcia@example.org')
p2_party.save()
off, = PersonName.find([('party', '=', p2_party.id), ('use', '=', 'official')])
off.prefix = 'Mrs'
off.save()
alt_id(p2_party, alternative_id_type='country_id', code='DNI 31.456.789',
       comments='Argentinian DNI')
alt_id(p2_party, alternative_id_type='other',
       other_alternative_id_type='Union card', code='UC-9988')
p2, = Patient.find([('party', '=', p2_party.id)])
p2.primary_care_doctor = hp1
p2.blood_type = 'O'
p2.rh = '-'
p2.biological_sex = 'f'
p2.save()

# Patient 3: child, Matt Zenon Betz (male, born 2019), same DU as patient 1
p3_party = person('Matt', 'Zenon Betz', 'm', d('2019-05-02'),
                  ref='ESP190502M',
                  is_patient=True, du=du1, citizenship=spain, lang=en)
p3_party.save()
p3, = Patient.find([('party', '=', p3_party.id)])
p3.primary_care_doctor = hp3
p3.save()

# Patient 4: elderly woman, deceased (death certificate)
p4_party = person('Maria', 'Lopez Santana', 'f', d('1931-01-15'),
                  ref='ESP310115F',
                  is_patient=True, marital_status='w', du=du1,
                  citizenship=spain)
p4_party.contact_mechanisms.new(type='phone', value='+34 928 111 222')
p4_party.save()
p4, = Patient.find([('party', '=', p4_party.id)])

# Patient 5: unidentified person (NN- prefixed PUID)
p5_party = Party(name='Unknown', lastname='Male', gender='u',
                 ref='NN-UNK000001', code=pcode('unknown male'),
                 federation_account='XXXUNK000001',
                 is_person=True, is_patient=True, unidentified=True)
p5_party.save()
p5, = Patient.find([('party', '=', p5_party.id)])
log('patients created: %s' % ', '.join(
    f'{p.party.rec_name} [{p.party.ref}]' for p in (p1, p2, p3, p4, p5)))

# Family (gnuhealth.family) grouping patients 1 and 3
Family = Model.get('gnuhealth.family')
fam = Family(name='Zenon Family', info='Lives in Triana')
fam.members.new(party=p1_party, role='Father')
fam.members.new(party=p3_party, role='Son')
fam.save()
p1.family = fam
p1.save()
p3.family = fam
p3.save()

# Insurance
ins_party = Party(name='Servicio Canario de Salud', is_insurance_company=True,
                  ref='NP-SCS', code=pcode('insurer'),
                  insurance_company_type='state', is_person=False,
                  create_target=False)
ins_party.save()
plan_prod = product('SCS Basic plan', 'service', is_insurance_plan=True)
InsPlan = Model.get('gnuhealth.insurance.plan')
Insurance = Model.get('gnuhealth.insurance')
plan = InsPlan(company=ins_party, product=plan_prod, is_default=True)
plan.save()
ins1 = Insurance(party=p1_party, company=ins_party, number='SCS-0099887766',
                 member_since=d('2005-01-01'), member_exp=d('2030-01-01'),
                 insurance_type='state', plan_id=plan, category='A')
ins1.save()
p1.current_insurance = ins1
p1.save()

# ---------------------------------------------------------------------------
# Pathologies (ICD-10 from health_icd10) + procedure codes
# ---------------------------------------------------------------------------
Pathology = Model.get('gnuhealth.pathology')


def icd(code):
    return get('gnuhealth.pathology', [('code', '=', code)])


hypertension = icd('I10')
dm2 = icd('E11.9') if Pathology.find([('code', '=', 'E11.9')]) else icd('E11')
asthma = icd('J45.9') if Pathology.find([('code', '=', 'J45.9')]) else icd('J45')
appendicitis = icd('K35.8') if Pathology.find([('code', '=', 'K35.8')]) \
    else icd('K35')
pen_allergy = icd('Z88.0')
peanut_allergy = Pathology.find([('code', '=', 'Z91.010')]) or \
    Pathology.find([('code', '=', 'Z91.0')])
peanut_allergy = peanut_allergy[0]
breast_ca = icd('C50.9') if Pathology.find([('code', '=', 'C50.9')]) \
    else icd('C50')
mi = icd('I21.9') if Pathology.find([('code', '=', 'I21.9')]) else icd('I21')
pneumonia = icd('J18.9')
influenza = icd('J11.1') if Pathology.find([('code', '=', 'J11.1')]) \
    else icd('J11')
fever = icd('R50.9')
cough = icd('R05')
anemia = icd('D64.9')
log('pathologies looked up (ICD-10)')

Procedure = Model.get('gnuhealth.procedure')
proc_appy = Procedure(name='0DTJ4ZZ',
                      description='Resection of Appendix, Percutaneous '
                      'Endoscopic Approach (laparoscopic appendectomy)')
proc_appy.save()
proc_eval = Procedure(name='99213', description='Office/outpatient visit, '
                      'established patient')
proc_eval.save()
proc_ecg = Procedure(name='4A02X4Z', description='Measurement of Cardiac '
                     'Electrical Activity, External Approach (ECG)')
proc_ecg.save()
proc_wound = Procedure(name='0HQ9XZZ', description='Repair Left Lower Leg '
                       'Skin, External Approach (wound suture)')
proc_wound.save()

# ---------------------------------------------------------------------------
# Medicaments (product + gnuhealth.medicament) and vaccines
# ---------------------------------------------------------------------------
Medicament = Model.get('gnuhealth.medicament')
DoseUnit = Model.get('gnuhealth.dose.unit')
Route = Model.get('gnuhealth.drug.route')
Form = Model.get('gnuhealth.drug.form')
Freq = Model.get('gnuhealth.medication.dosage')
MedCategory = Model.get('gnuhealth.medicament.category')

# units / routes / forms / frequencies come from health/data/*.xml
mg, = DoseUnit.find([('code', '=', 'mg')])
ml, = DoseUnit.find([('code', '=', 'mL')])
ug, = DoseUnit.find([('code', '=', 'ug')])
oral, = Route.find([('code', '=', 'PO')])            # Oral
im_route, = Route.find([('code', '=', 'IM')])        # Intramuscular
inh_route, = Route.find([('code', '=', 'IH')])       # Inhalation
tablet, = Form.find([('code', '=', 'TAB')])
capsule, = Form.find([('code', '=', 'CAP')])
aerosol, = Form.find([('code', '=', 'AEM')])         # Aerosol metered-dose
injection, = Form.find([('code', '=', 'SUS')])       # Suspension
bid, = Freq.find([('code', '=', '229799001')])       # SNOMED: 2 times/day
qd, = Freq.find([('code', '=', '229797004')])        # SNOMED: 1 time/day
prn, = Freq.find([('code', '=', '420449005')])       # SNOMED: as needed
cat_cv = MedCategory(name='Cardiovascular')
cat_cv.save()
cat_vac = MedCategory(name='Vaccines')
cat_vac.save()


def medicament(name, active, strength=None, unit=None, form=None, route=None,
               vaccine=False, category=None, **kw):
    prod = product(name, 'goods', is_medicament=True, is_vaccine=vaccine)
    m = Medicament(product=prod, active_component=active, strength=strength,
                   unit=unit, form=form, route=route, is_vaccine=vaccine,
                   category=category, **kw)
    m.save()
    return m


enalapril = medicament('Enalapril 10 mg tablets', 'enalapril maleate', 10.0,
                       mg, tablet, oral, category=cat_cv,
                       therapeutic_action='ACE inhibitor',
                       pregnancy_category='D', pregnancy_warning=True)
metformin = medicament('Metformin 850 mg tablets', 'metformin hydrochloride',
                       850.0, mg, tablet, oral,
                       therapeutic_action='Biguanide antidiabetic')
salbutamol = medicament('Salbutamol 100 mcg inhaler', 'salbutamol', 100.0, ug,
                        aerosol, inh_route)
amoxicillin = medicament('Amoxicillin 500 mg capsules', 'amoxicillin', 500.0,
                         mg, capsule, oral)
paracetamol = medicament('Paracetamol 1 g tablets', 'paracetamol', 1000.0,
                         mg, tablet, oral)
flu_vac = medicament('Influenza vaccine (split virion, inactivated) 2024/25',
                     'influenza virus, inactivated', 0.5, ml, injection,
                     im_route, vaccine=True, category=cat_vac)
dtap_vac = medicament('DTaP-IPV-Hib-HepB (hexavalent) vaccine',
                      'diphtheria/tetanus/pertussis/polio/Hib/HepB', 0.5, ml,
                      injection, im_route, vaccine=True, category=cat_vac)
covid_vac = medicament('COVID-19 mRNA vaccine', 'tozinameran', 0.3, ml,
                       injection, im_route, vaccine=True, category=cat_vac)
log('medicaments and vaccines created')

# ---------------------------------------------------------------------------
# Conditions, allergies, family history, genetic risk
# ---------------------------------------------------------------------------
Disease = Model.get('gnuhealth.patient.disease')


def condition(patient, pathology, **kw):
    c = Disease(patient=patient, pathology=pathology, **kw)
    c.save()
    return c


c_htn = condition(p1, hypertension, diagnosed_date=d('2015-03-10'),
                  disease_severity='2_mo', status='c', is_active=True,
                  is_on_treatment=True, date_start_treatment=d('2015-03-10'),
                  treatment_description='Enalapril 10 mg bid',
                  healthprof=hp1, institution=hospital,
                  short_comment='Essential hypertension, well controlled')
c_appy = condition(p1, appendicitis, diagnosed_date=d('2024-02-11'),
                   disease_severity='3_sv', status='h', is_active=False,
                   healed_date=d('2024-03-01'), healthprof=hp2,
                   institution=hospital, short_comment='Acute appendicitis')
c_pen = condition(p1, pen_allergy, is_allergy=True, allergy_type='da',
                  disease_severity='3_sv', diagnosed_date=d('1990-01-01'),
                  status='c', is_active=True,
                  short_comment='Anaphylaxis to penicillin (1990)',
                  healthprof=hp1)
c_dm2 = condition(p2, dm2, diagnosed_date=d('2020-07-01'),
                  disease_severity='2_mo', status='c', is_active=True,
                  is_on_treatment=True, healthprof=hp1, institution=clinic,
                  lab_confirmed=True)
c_asthma = condition(p3, asthma, diagnosed_date=d('2022-10-05'),
                     disease_severity='1_mi', status='c', is_active=True,
                     healthprof=hp3, institution=clinic)
c_peanut = condition(p3, peanut_allergy, is_allergy=True, allergy_type='fa',
                     disease_severity='2_mo', status='c', is_active=True,
                     diagnosed_date=d('2021-03-14'), healthprof=hp3,
                     institution=clinic,
                     short_comment='Peanut allergy: urticaria')
c_flu = condition(p2, influenza, diagnosed_date=d('2023-01-15'),
                  disease_severity='1_mi', status='h', is_active=False,
                  healed_date=d('2023-01-25'), is_infectious=True)
c_mi = condition(p4, mi, diagnosed_date=d('2023-11-02'),
                 disease_severity='3_sv', status='c', is_active=True,
                 healthprof=hp1, institution=hospital)
log('conditions / allergies created')

FamDisease = Model.get('gnuhealth.patient.family.diseases')
FamDisease(patient=p1, disease=dm2, relative='father', xory='f').save()
FamDisease(patient=p1, disease=hypertension, relative='mother',
           xory='m').save()
FamDisease(patient=p1, disease=mi, relative='grandfather', xory='f').save()
FamDisease(patient=p2, disease=breast_ca, relative='aunt', xory='m').save()
FamDisease(patient=p3, disease=hypertension, relative='father',
           xory='f').save()
FamDisease(patient=p3, disease=asthma, relative='cousin', xory='s').save()

Gene = Model.get('gnuhealth.gene')
GenRisk = Model.get('gnuhealth.patient.genetic.risk')
brca1 = Gene.find([('name', '=', 'BRCA1')])
if brca1:
    brca1 = brca1[0]
else:
    brca1 = Gene(name='BRCA1', hgnc_id='HGNC:1100', long_name='BRCA1 DNA '
                 'repair associated', chromosome='17', location='17q21.31',
                 gene_id='672', gene_type='protein_coding')
    brca1.save()
GenRisk(patient=p2, disease_gene=brca1, zygosity='hetero', onset=45,
        healthprof=hp1, institution=hospital,
        notes='Family history of breast cancer; carrier').save()
log('family history and genetic risk created')

# ---------------------------------------------------------------------------
# Appointments and evaluations (encounters with vital signs)
# ---------------------------------------------------------------------------
Appointment = Model.get('gnuhealth.appointment')
Evaluation = Model.get('gnuhealth.patient.evaluation')
SecCond = Model.get('gnuhealth.secondary_condition')
DDx = Model.get('gnuhealth.diagnostic_hypothesis')
Sign = Model.get('gnuhealth.signs_and_symptoms')
PatProc = Model.get('gnuhealth.patient.procedure')

app1 = Appointment(patient=p1, healthprof=hp1, institution=hospital,
                   speciality=sp_gp, appointment_date=dtm('2024-05-06 08:30'),
                   appointment_type='outpatient', urgency='a',
                   visit_type='followup', state='confirmed',
                   comments='Blood pressure control')
app1.save()
app2 = Appointment(patient=p2, healthprof=hp1, institution=clinic,
                   speciality=sp_gp, appointment_date=dtm('2024-06-12 10:00'),
                   appointment_type='outpatient', urgency='a',
                   visit_type='followup', state='confirmed')
app2.save()
app3 = Appointment(patient=p3, healthprof=hp3, institution=clinic,
                   speciality=sp_ped,
                   appointment_date=dtm('2025-01-20 09:00'),
                   appointment_type='outpatient', urgency='a',
                   visit_type='well_child', state='confirmed')
app3.save()
app_future = Appointment(patient=p1, healthprof=hp1, institution=hospital,
                         speciality=sp_gp,
                         appointment_date=dtm('2027-05-06 08:30'),
                         appointment_type='outpatient', urgency='a',
                         visit_type='followup', state='confirmed')
app_future.save()

ev1 = Evaluation(patient=p1, appointment=app1, healthprof=hp1,
                 institution=hospital, specialty=sp_gp,
                 evaluation_start=dtm('2024-05-06 08:40'),
                 evaluation_endtime=dtm('2024-05-06 09:05'),
                 evaluation_type='outpatient', visit_type='followup',
                 urgency='a', related_condition=c_htn,
                 chief_complaint='Hypertension follow-up',
                 present_illness='Asymptomatic. Good adherence to enalapril.',
                 evaluation_summary='Normal cardiopulmonary exam.',
                 temperature=36.7, systolic=138, diastolic=86, bpm=72,
                 respiratory_rate=14, osat=98, weight=84.5, height=178.0,
                 bmi=26.7, abdominal_circ=96.0, hip=102.0, whr=0.94,
                 glycemia=98.0, hba1c=36.0, cholesterol_total=205, hdl=48,
                 ldl=130, tag=140, diagnosis=hypertension,
                 info_diagnosis='Essential hypertension, controlled',
                 directions='Continue enalapril. Low-salt diet. Control in '
                 '6 months.', discharge_reason='home', loc=15,
                 loc_eyes='4', loc_verbal='5', loc_motor='6', mood='n',
                 orientation=True, memory=True)
ev1.secondary_conditions.new(pathology=dm2, comments='prediabetes screening')
ev1.diagnostic_hypothesis.new(pathology=hypertension)
ev1.signs_and_symptoms.new(sign_or_symptom='symptom', clinical=cough,
                           comments='dry cough, ? ACE inhibitor')
# encounter procedures: gnuhealth.patient.procedure rows whose (readonly)
# 'reference' field = 'gnuhealth.patient.evaluation,<id>' is filled by the
# One2Many evaluation.procedures
ev1.procedures.new(patient=p1, procedure=proc_eval, ctx='evaluation',
                   pdate=dtm('2024-05-06 08:40'))
ev1.procedures.new(patient=p1, procedure=proc_ecg, ctx='evaluation',
                   pdate=dtm('2024-05-06 08:50'),
                   comments='Normal sinus rhythm')
ev1.save()
Evaluation.click([ev1], 'end_evaluation')  # state -> done, signed_by
ev1.reload()
ev1.evaluation_endtime = dtm('2024-05-06 09:05')
ev1.save()

ev2 = Evaluation(patient=p2, appointment=app2, healthprof=hp1,
                 institution=clinic, specialty=sp_gp,
                 evaluation_start=dtm('2024-06-12 10:05'),
                 evaluation_endtime=dtm('2024-06-12 10:30'),
                 evaluation_type='outpatient', visit_type='followup',
                 urgency='a', related_condition=c_dm2,
                 chief_complaint='Diabetes control; fever and cough x3 days',
                 temperature=38.4, systolic=121, diastolic=79, bpm=96,
                 respiratory_rate=20, osat=95, weight=71.0, height=162.0,
                 bmi=27.1, glycemia=162.0, hba1c=57.0,
                 diagnosis=pneumonia, discharge_reason='home')
ev2.signs_and_symptoms.new(sign_or_symptom='sign', clinical=fever)
ev2.save()
force_write(ev2, state='signed', signed_by=hp1)

ev3 = Evaluation(patient=p3, appointment=app3, healthprof=hp3,
                 institution=clinic, specialty=sp_ped,
                 evaluation_start=dtm('2025-01-20 09:05'),
                 evaluation_type='outpatient', visit_type='well_child',
                 urgency='a', chief_complaint='Well child check',
                 temperature=36.5, bpm=98, respiratory_rate=22, osat=99,
                 weight=19.5, height=110.0, bmi=16.1,
                 head_circumference=51.0, discharge_reason='home')
ev3.save()  # stays in_progress
force_write(ev3, healthprof=hp3)  # healthprof is readonly (default = user's)
log('appointments / evaluations (encounters with vitals) created')

# ---------------------------------------------------------------------------
# Lab: request (gnuhealth.patient.lab.test) -> result (gnuhealth.lab) with
# analytes (gnuhealth.lab.test.critearea)
# ---------------------------------------------------------------------------
TestType = Model.get('gnuhealth.lab.test_type')
LabRequest = Model.get('gnuhealth.patient.lab.test')
Lab = Model.get('gnuhealth.lab')
Critearea = Model.get('gnuhealth.lab.test.critearea')
LabUnit = Model.get('gnuhealth.lab.test.units')

cbc, = TestType.find([('code', '=', 'CBC')])
egy = TestType.find([('code', '=', 'EGY')])
egy = egy[0] if egy else None

req1 = LabRequest(patient_id=p1, test_type=cbc, doctor_id=hp1,
                  date=dtm('2024-05-06 09:00'), urgent=False,
                  context=hypertension,
                  comment='Annual control')
req1.save()

lab1 = Lab(test=cbc, patient=p1, source_type='patient',
           requestor=hp1, pathologist=hp2,
           date_requested=dtm('2024-05-06 09:00'),
           date_analysis=dtm('2024-05-07 07:30'),
           specimen_type='whole blood (EDTA)', request_order=req1.request
           if req1.request else None,
           results='Mild normocytic anemia', diagnosis='Mild anemia',
           pathology=anemia, historize=False)
lab1.save()
Lab.click([lab1], 'complete_criteareas')  # copies analytes from test type
lab1.reload()
values = {'WBC': (7.2, None), 'RBC': (4.3, None), 'HGB': (10.9, None),
          'HCT': (38.5, None), 'PLT': (250.0, None)}
for i, line in enumerate(lab1.critearea):
    key = (line.code or line.name or '').upper()
    for k, (v, txt) in values.items():
        if k in key:
            line.result = v
            break
    else:
        if line.lower_limit is not None and line.upper_limit is not None:
            line.result = round((line.lower_limit + line.upper_limit) / 2, 2)
    if line.result is not None and line.lower_limit is not None \
            and line.upper_limit is not None and (
                line.result < line.lower_limit
                or line.result > line.upper_limit):
        line.warning = True
# one explicit out-of-range, one qualitative result
extra = lab1.critearea.new(name='Blood smear', code='SMEAR', sequence=99,
                           result_text='Normocytic, normochromic',
                           remarks='No blasts')
lab1.save()
lab1.reload()
Lab.click([lab1], 'generate_document')  # state -> done, done_by = hp1
force_write(lab1, done_date=dtm('2024-05-07 09:00'), request_order=req1.request)
log('lab test (CBC) with %d analytes created' % len(lab1.critearea))

# a second lab result for patient 2 built manually (glucose + HbA1c)
mgdl = LabUnit.find([('name', '=', 'mg/dl')])[0]
pct = LabUnit.find([('name', '=', '%')])[0]
glu_type = TestType(name='GLUCOSE PROFILE', code='GLU',
                    category='biochemical', product_id=product(
                        'Glucose profile (lab service)', 'service'),
                    specimen_type='serum')
glu_type.critearea.new(name='Fasting glucose', code='GLU', sequence=1,
                       lower_limit=70.0, upper_limit=100.0, units=mgdl)
glu_type.critearea.new(name='Hemoglobin A1c', code='HBA1C', sequence=2,
                       lower_limit=4.0, upper_limit=5.6, units=pct)
glu_type.save()
lab2 = Lab(test=glu_type, patient=p2, requestor=hp1, pathologist=hp2,
           date_requested=dtm('2024-06-12 10:30'),
           date_analysis=dtm('2024-06-13 08:00'), specimen_type='serum')
lab2.critearea.new(name='Fasting glucose', code='GLU', sequence=1,
                   lower_limit=70.0, upper_limit=100.0, units=mgdl,
                   result=162.0, warning=True, test_method='Hexokinase')
lab2.critearea.new(name='Hemoglobin A1c', code='HBA1C', sequence=2,
                   lower_limit=4.0, upper_limit=5.6, units=pct, result=7.4,
                   warning=True, test_method='HPLC')
lab2.save()
Lab.click([lab2], 'generate_document')
req2 = LabRequest(patient_id=p2, test_type=glu_type, doctor_id=hp1,
                  date=dtm('2024-06-12 10:30'))
req2.save()
force_write(lab2, state='validated', validated_by=hp2,
            validation_date=dtm('2024-06-13 12:00'),
            done_date=dtm('2024-06-13 11:00'), request_order=req2.request)
req3 = LabRequest(patient_id=p3, test_type=cbc, doctor_id=hp3,
                  date=dtm('2025-01-20 09:30'), urgent=True)
req3.save()
# lab request workflow: draft -> ordered -> tested
force_write(req1, state='tested')
force_write(req2, state='tested')
force_write(req3, state='ordered')
log('lab results for patient 2 + lab requests created')

# ---------------------------------------------------------------------------
# Vaccinations
# ---------------------------------------------------------------------------
Vaccination = Model.get('gnuhealth.vaccination')
v1 = Vaccination(patient=p1, vaccine=flu_vac, date=dtm('2024-10-15 11:00'),
                 dose=1, vaccine_lot='FLU24-A123',
                 vaccine_expiration_date=d('2025-06-30'),
                 institution=hospital, healthprof=hp1, admin_route='im',
                 admin_site='lpua', amount=0.5, observations='No reaction')
v1.save()
Vaccination.click([v1], 'sign')
v2 = Vaccination(patient=p3, vaccine=dtap_vac, date=dtm('2019-07-02 10:00'),
                 dose=1, next_dose_date=dtm('2019-09-02 10:00'),
                 vaccine_lot='HX-2019-77', institution=clinic, healthprof=hp3,
                 admin_route='im', admin_site='lvl', amount=0.5)
v2.save()
v3 = Vaccination(patient=p3, vaccine=dtap_vac, date=dtm('2019-09-03 10:00'),
                 dose=2, vaccine_lot='HX-2019-91', institution=clinic,
                 healthprof=hp3, admin_route='im', admin_site='rvl',
                 amount=0.5)
v3.save()
# 'sign' button would set signed_by = professional of the logged-in user
# (admin -> Dr. Cordara); these were signed by the paediatric nurse.
force_write(v2, state='done', signed_by=hp3, healthprof=hp3)
force_write(v3, state='done', signed_by=hp3, healthprof=hp3)
v4 = Vaccination(patient=p2, vaccine=covid_vac, date=dtm('2021-06-01 16:00'),
                 dose=1, vaccine_lot='EW0182', admin_route='im',
                 admin_site='ld', amount=0.3)
v4.save()
# administered elsewhere (mass vaccination centre): no local professional
force_write(v4, healthprof=None, institution=None)
log('vaccinations created')

# ---------------------------------------------------------------------------
# Medications (patient medication history) and prescriptions
# ---------------------------------------------------------------------------
PatMed = Model.get('gnuhealth.patient.medication')
Rx = Model.get('gnuhealth.prescription.order')

rx1 = Rx(patient=p1, healthprof=hp1, prescription_date=dtm('2024-05-06 09:00'),
         notes='Chronic treatment', prescription_warning_ack=True)
l1 = rx1.prescription_line.new(medicament=enalapril, indication=hypertension,
                               dose=10.0, dose_unit=mg, route=oral,
                               form=tablet, qty=1, common_dosage=bid,
                               frequency=12, frequency_unit='hours',
                               duration=6, duration_period='months',
                               start_treatment=dtm('2024-05-06 09:00'),
                               end_treatment=dtm('2024-11-06 09:00'),
                               quantity=360, refills=2, add_to_history=True,
                               allow_substitution=True,
                               short_comment='Take with water')
l2 = rx1.prescription_line.new(medicament=paracetamol, dose=1000.0,
                               dose_unit=mg, route=oral, form=tablet, qty=1,
                               frequency=8, frequency_unit='hours',
                               frequency_prn=True, duration=5,
                               duration_period='days', quantity=10)
rx1.save()
force_write(rx1, state='done')

rx2 = Rx(patient=p2, healthprof=hp1, prescription_date=dtm('2024-06-12 10:35'),
         prescription_warning_ack=True)
rx2.prescription_line.new(medicament=metformin, indication=dm2, dose=850.0,
                          dose_unit=mg, route=oral, form=tablet, qty=1,
                          common_dosage=bid, frequency=12,
                          frequency_unit='hours', duration=3,
                          duration_period='months', quantity=180)
rx2.prescription_line.new(medicament=amoxicillin, indication=pneumonia,
                          dose=500.0, dose_unit=mg, route=oral, form=capsule,
                          qty=1, frequency=8, frequency_unit='hours',
                          duration=7, duration_period='days', quantity=21)
# on_change_patient flags a pregnancy warning for women of childbearing age;
# the prescriber must clear it (checked) before the order validates.
rx2.pregnancy_warning = False
rx2.save()
force_write(rx2, state='validated')

# NB: the enalapril line of rx1 has add_to_history=True, so GNU Health
# already created a gnuhealth.patient.medication row (patient, medicament,
# indication, start_treatment, prescription) for it.
pm1, = PatMed.find([('prescription', '=', rx1.id),
                    ('medicament', '=', enalapril.id)])
pm1.is_active = True
pm1.dose = 10.0
pm1.dose_unit = mg
pm1.route = oral
pm1.form = tablet
pm1.qty = 1
pm1.common_dosage = bid
pm1.frequency = 12
pm1.frequency_unit = 'hours'
pm1.duration_period = 'indefinite'
pm1.admin_times = '08:00 20:00'
pm1.institution = hospital
pm1.notes = 'Long term'
pm1.save()
# 'patient', 'healthprof' and 'prescription' are readonly in the view
pm2 = PatMed(medicament=amoxicillin, is_active=False, form=capsule,
             discontinued=True, discontinued_reason='Allergic reaction',
             adverse_reaction='Urticaria and dyspnea',
             start_treatment=dtm('1990-01-01 10:00'),
             end_treatment=dtm('1990-01-02 10:00'), dose=500.0,
             dose_unit=mg, route=oral, frequency=8, frequency_unit='hours')
pm2.save()
force_write(pm2, patient=p1, healthprof=None)
pm3 = PatMed(medicament=metformin, indication=dm2, is_active=True,
             start_treatment=dtm('2020-07-01 08:00'), dose=850.0,
             dose_unit=mg, route=oral, form=tablet, qty=1,
             common_dosage=bid, frequency=12, frequency_unit='hours',
             duration=12, duration_period='months')
pm3.save()
force_write(pm3, patient=p2, healthprof=hp1, prescription=rx2)
pm4 = PatMed(medicament=salbutamol, indication=asthma,
             is_active=True, frequency_prn=True, dose=200.0,
             dose_unit=ug, route=inh_route, form=aerosol, common_dosage=prn,
             start_treatment=dtm('2022-10-05 12:00'),
             course_completed=False)
pm4.save()
force_write(pm4, patient=p3, healthprof=hp3)
log('prescriptions and patient medications created')

# ---------------------------------------------------------------------------
# Surgery (gnuhealth.surgery) with procedures (gnuhealth.operation) and team
# ---------------------------------------------------------------------------
Surgery = Model.get('gnuhealth.surgery')
srg = Surgery(patient=p1, institution=hospital, operating_room=oroom,
              surgeon=hp2, anesthetist=hp1, specialty=sp_surg,
              pathology=appendicitis, postoperative_dx=appendicitis,
              surgery_date=dtm('2024-02-11 22:15'),
              surgery_end_date=dtm('2024-02-11 23:20'),
              classification='u', anesthesia_type='general',
              approach='laparoscopic', surgical_wound='II',
              patient_positioning='supine_decubitus', laterality='right',
              description='Laparoscopic appendectomy',
              surgical_intervention=proc_appy, main_procedure=proc_appy,
              incl_intervention=True, preop_antibiotics=True,
              preop_oximeter=True, preop_site_marking=True,
              preop_sterility=True, clavien_dindo='grade1',
              extra_info='Uneventful. Discharged after 48h.',
              postoperative_guidelines='Analgesia; early mobilisation.')
srg.procedures.new(procedure=proc_appy, notes='Appendix removed')
# surgery_team.role is a gnuhealth.hp_specialty of that team member
role_surg, = HPSpecialty.find([('healthprof', '=', hp2.id),
                               ('specialty', '=', sp_surg.id)])
role_anest, = HPSpecialty.find([('healthprof', '=', hp1.id),
                                ('specialty', '=', sp_anest.id)])
srg.surgery_team.new(team_member=hp2, role=role_surg, notes='Main surgeon')
srg.surgery_team.new(team_member=hp1, role=role_anest, notes='Anesthesia')

srg.save()
force_write(srg, state='signed', signed_by=hp2)
log('surgery created (code %s)' % srg.code)

# Minor procedure done in nursing (ambulatory care) with vitals
AmbCare = Model.get('gnuhealth.patient.ambulatory_care')
amb = AmbCare(patient=p1, health_professional=hp3, ordering_professional=hp1,
              base_condition=c_appy.pathology, evaluation=ev1,
              session_start=dtm('2024-02-20 10:00'),
              session_end=dtm('2024-02-20 10:20'), session_number=1,
              temperature=36.6, systolic=125, diastolic=80, bpm=70,
              respiratory_rate=14, osat=99, glycemia=95, evolution='i',
              session_notes='Surgical wound check and dressing change')
amb.ambulatory_procedures.new(patient=p1, procedure=proc_wound,
                              ctx='ambulatory', pdate=dtm('2024-02-20 10:05'))
amb.save()
force_write(amb, state='done', signed_by=hp3, health_professional=hp3,
            session_end=dtm('2024-02-20 10:20'))

# ---------------------------------------------------------------------------
# Hospitalization (inpatient registration) + nursing rounding with vitals
# ---------------------------------------------------------------------------
Registration = Model.get('gnuhealth.inpatient.registration')
reg = Registration(patient=p2, bed=bed, institution=hospital,
                   hospitalization_date=dtm('2024-06-14 15:00'),
                   discharge_date=dtm('2024-06-18 12:00'),
                   admission_type='urgent', admission_reason=pneumonia,
                   attending_physician=hp1, operating_physician=hp1,
                   info='Community-acquired pneumonia in diabetic patient',
                   nursing_plan='Vitals q6h; glycemia q8h')
reg.save()
force_write(reg, state='done', discharge_reason='home', discharged_by=hp1,
            discharge_dx=pneumonia,
            discharge_plan='Complete 7 days amoxicillin')
Rounding = Model.get('gnuhealth.patient.rounding')
rnd = Rounding(registration=reg, health_professional=hp3,
               evaluation_start=dtm('2024-06-15 08:00'),
               evaluation_end=dtm('2024-06-15 08:20'), temperature=37.9,
               systolic=118, diastolic=75, bpm=90, respiratory_rate=19,
               osat=96, glycemia=150, diuresis=1200, pain=False,
               evolution='i', round_summary='Improving')
rnd.save()
force_write(rnd, state='done', signed_by=hp3, health_professional=hp3,
            evaluation_end=dtm('2024-06-15 08:20'))
log('inpatient registration + rounding created')

# ---------------------------------------------------------------------------
# Death certificate for patient 4 (sets party.deceased)
# ---------------------------------------------------------------------------
Death = Model.get('gnuhealth.death_certificate')
dc = Death(party=p4_party, code='DC-2024-0001', dod=dtm('2024-01-03 04:30'),
           cod=mi, type_of_death='natural', place_of_death='health_center',
           institution=hospital, country=spain, country_subdivision=las_palmas,
           observations='Acute myocardial infarction')
dc.underlying_conditions.new(condition=hypertension, interval=20,
                             unit_of_time='years')
dc.save()
# the 'sign' button sets state=signed, signed_by and party.deceased=True,
# party.death_certificate=dc
Death.click([dc], 'sign')
force_write(dc, certification_date=dtm('2024-01-03 08:00'))
p4_party.reload()
assert p4_party.deceased
log('death certificate created')

# ---------------------------------------------------------------------------
# A dedicated Tryton user for the FHIR server, with a known password
# ---------------------------------------------------------------------------
Group = Model.get('res.group')
fhir_user = User(login='fhir_reader', name='FHIR Reader',
                 password=args.fhir_password, email='fhir@example.org')
for gname in ('Health Doctor', ):
    g = Group.find([('name', '=', gname)])
    if g:
        fhir_user.groups.append(g[0])
fhir_user.companies.append(Company(company.id))
fhir_user.company = company
fhir_user.save()
log('user fhir_reader created (groups: %s)' % ', '.join(
    g.name for g in fhir_user.groups))

# ---------------------------------------------------------------------------
# Extra users for the FHIR server's security tests
#   frontdesk: only "Health Front Desk" (limited clinical access)
#   nogroup:   a valid Tryton user without any health group
# ---------------------------------------------------------------------------
front_user = User(login='frontdesk', name='Front Desk',
                  password=args.frontdesk_password)
front_user.groups.append(Group.find([('name', '=', 'Health Front Desk')])[0])
front_user.companies.append(Company(company.id))
front_user.company = company
front_user.save()
nogroup_user = User(login='nogroup', name='No Health Group',
                    password=args.nogroup_password)
nogroup_user.save()
log('users frontdesk (Health Front Desk) and nogroup (no group) created')

# ---------------------------------------------------------------------------
# Field access and record rules for the security tests
#   "FHIR test: hide birth date": a group whose ir.model.field.access row
#       denies read/write of party.party.dob; nurse is in it
#   "FHIR test: first doses": a record rule (read) on gnuhealth.vaccination
#       for "Health Nurse": only dose 1 is visible (vaccination 3, dose 2, is
#       not)
#   "FHIR test: untranslatable": a record rule (read) on gnuhealth.lab for
#       "Health Lab" whose domain goes through a dotted path
#       (patient.party.name): trytond applies it, a server that cannot
#       translate it must refuse (fail closed)
# ---------------------------------------------------------------------------
from trytond.pyson import PYSONEncoder  # noqa: E402

IrModel = Model.get('ir.model')
IrModelField = Model.get('ir.model.field')
FieldAccess = Model.get('ir.model.field.access')
RuleGroup = Model.get('ir.rule.group')

nurse_group, = Group.find([('name', '=', 'Health Nurse')])
lab_group, = Group.find([('name', '=', 'Health Lab')])

hide_dob = Group(name='FHIR test: hide birth date')
hide_dob.save()
dob_field, = IrModelField.find([('model.model', '=', 'party.party'),
                                ('name', '=', 'dob')])
FieldAccess(field=dob_field, group=hide_dob, perm_read=False,
            perm_write=False, perm_create=True, perm_delete=True).save()


def record_rule(name, model, group, domain):
    ir_model, = IrModel.find([('model', '=', model)])
    rg = RuleGroup(name=name, model=ir_model, global_p=False,
                   default_p=False, perm_read=True, perm_write=False,
                   perm_create=False, perm_delete=False)
    rg.groups.append(Group(group.id))
    # ir.rule.domain is a Char holding PYSONEncoder output
    rg.rules.new(domain=PYSONEncoder().encode(domain))
    rg.save()
    return rg


record_rule('FHIR test: first doses', 'gnuhealth.vaccination', nurse_group,
            [('dose', '=', 1)])
record_rule('FHIR test: untranslatable', 'gnuhealth.lab', lab_group,
            [('patient.party.name', 'ilike', '%a%')])

nurse_user = User(login='nurse', name='Nurse', password=args.nurse_password)
nurse_user.groups.append(Group(nurse_group.id))
nurse_user.groups.append(Group(hide_dob.id))
nurse_user.companies.append(Company(company.id))
nurse_user.company = company
nurse_user.save()
lab_user = User(login='labtech', name='Lab Technician',
                password=args.labtech_password)
lab_user.groups.append(Group(lab_group.id))
lab_user.companies.append(Company(company.id))
lab_user.company = company
lab_user.save()
log('users nurse (Health Nurse, FHIR test: hide birth date) and labtech '
    '(Health Lab) created; field access on party.party.dob and record '
    'rules on gnuhealth.vaccination and gnuhealth.lab created')

log('DONE')

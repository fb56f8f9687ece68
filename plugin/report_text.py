"""Bone marrow edema (BME) mentions in free-text radiology reports.

Radiologists write BME many ways ("marrow oedema", "edema-like signal",
"BML", "bone bruise", "transient osteoporosis") and qualify it just as many
ways ("no", "resolved", "cannot be excluded", "on the prior study"). The
cards must react to what the *current* study shows, so each mention carries a
status: present, uncertain, negated or historical.

The rules are hand-written, in the NegEx/ConText family, and kept as data
tables (the ``*_CUES``, ``TERMS`` and ``SITES`` tuples below) with a small
matcher. medspaCy's ConText, measured on the same held-out sentences, knows
neither radiology wording nor anatomy (docs/findings.md says how it did).
``docs/findings.md`` describes every rule; ``tests/findings/corpus.tsv`` and
the held-out half ``tests/findings/heldout.tsv`` measure them.

The pipeline for one text:

1. sections: headers such as ``IMPRESSION:`` or ``INDICATION:`` set the
   context of the text that follows (clinical history is not a finding);
2. sentences: line breaks (not those inside a sentence), numbered items,
   full stops, semicolons;
3. clauses: a sentence is cut at contrast words (``but``, ``however``...),
   at ``, and`` (unless it ends a negated list), at ``with`` and at
   ``there is``; a cue acts inside its clause, and across commas only in a
   list ("no fracture, dislocation, bone marrow edema or effusion");
4. terms (BME vocabulary), anatomy sites with laterality, and cues;
5. each term gets the sites near it and a status from the cues around it;
   a cue between two sites (``... in the MFC but not in the tibial plateau``)
   changes the status of the sites after it.

A text in which no term word occurs (``TERM_WORDS``, a few substring tests)
skips steps 2-5: most reports a chart holds never mention BME. All regular expressions are
compiled at import. :func:`read` remembers what it read of a text (see
:mod:`plugin.text_memo`), so a report sent again on the next hook call costs
one hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from plugin.text_memo import remembered_by_digest

# ---------------------------------------------------------------------------
# Vocabulary tables
# ---------------------------------------------------------------------------

BME = "bone marrow edema"
BML = "bone marrow lesion"
BRUISE = "bone bruise"
TRANSIENT_OSTEOPOROSIS = "transient osteoporosis"
BMES = "bone marrow edema syndrome"

_EDEMA = r"o?edema"
#: Fluid-sensitive MRI sequences: bright marrow on them is how edema shows.
_FLUID_SEQUENCE = (
    r"(?:STIR|T2(?:[\s-]*weighted)?(?:[\s-]+fat[\s-]*(?:suppressed|saturated|sat))?|"
    r"(?:fat[\s-]*(?:suppressed|saturated)|PD|proton\s+density)(?:[\s-]+(?:T2|fat[\s-]*(?:suppressed|saturated)))?|"
    r"fluid[\s-]+sensitive)"
)
_BRIGHT = r"hyper-?intens(?:ity|ities|e)"
_SIGNAL_DEGREE = r"(?:increased|high|bright|abnormal|faint|subtle|patchy|ill-defined|mild|focal|diffuse)"
#: Marrow described by its signal, not named: "marrow hyperintensity", "T2 hyperintense marrow signal".
_BRIGHT_MARROW = rf"(?:{_FLUID_SEQUENCE}\s+)?(?:{_BRIGHT}\s+marrow(?:\s+signal)?|marrow\s+{_BRIGHT})"
#: Bright signal on fluid-sensitive images (or low T1 with high T2), without the word marrow:
#: BME when tied to a bone, like a bare "edema".
_BRIGHT_SIGNAL = (
    rf"(?:{_SIGNAL_DEGREE}\s+)?{_FLUID_SEQUENCE}\s+(?:{_BRIGHT}(?:\s+signal(?:\s+intensity)?)?|signal\s+{_BRIGHT})|"
    rf"{_SIGNAL_DEGREE}\s+{_FLUID_SEQUENCE}\s+signal(?:\s+intensity)?|"
    r"low\s+T1(?:\s+signal)?\s+(?:and|with)\s+(?:high|increased|bright)\s+(?:T2|STIR|T2\s*/\s*STIR|fluid[\s-]+sensitive)"
    r"(?:\s+signal)?|(?:increased|abnormal)\s+signal(?:\s+intensity)?"
)

#: (pattern, normalised term, strong). Order matters: at one position the
#: first pattern that matches wins, so longer phrases come first. A *weak*
#: term ("edema", "contusion") is BME only when tied to a bone (see
#: :func:`_weak_term_is_bone`); "subcutaneous edema" never is.
TERMS: tuple[tuple[str, str, bool], ...] = (
    (rf"bone\s+marrow\s+{_EDEMA}\s+syndrome", BMES, True),
    (r"(?-i:BMES)\b", BMES, True),
    (r"regional(?:ly)?\s+migratory\s+osteoporosis", BMES, True),
    (r"transient\s+(?:regional\s+)?osteoporosis", TRANSIENT_OSTEOPOROSIS, True),
    (r"(?:subchondral\s+)?bone\s+marrow\s+lesions?|subchondral\s+marrow\s+lesions?", BML, True),
    (r"(?-i:BMLs?)\b", BML, True),
    (rf"(?:bone\s+)?marrow\s+{_EDEMA}(?:[\s-]+like)?(?:\s+(?:marrow\s+)?(?:signal|pattern|changes?)(?:\s+intensity)?)?", BME, True),
    (rf"{_EDEMA}[\s-]+like\s+(?:bone\s+)?marrow\s+(?:signal(?:\s+intensity)?|changes?|abnormalit(?:y|ies))", BME, True),
    (rf"(?:subchondral|osseous|bony|intra-?osseous|bone|trabecular)\s+{_EDEMA}", BME, True),
    (r"(?-i:BM[EO])s?\b", BME, True),
    (rf"{_EDEMA}tous\s+(?:bone\s+)?marrow", BME, True),
    # Modic type 1 (alone or mixed with type 2) is endplate marrow edema; types 2 and 3 are fat and sclerosis.
    (r"Modic\s+(?:type\s+)?(?:1|I)(?:\s*(?:and|/|-)\s*(?:type\s+)?(?:2|II))?(?:\s+(?:endplate\s+)?(?:changes?|signal))?|"
     r"type\s+(?:1|I)\s+Modic(?:\s+(?:endplate\s+)?changes?)?", BME, True),
    (r"Romanus\s+lesions?|(?:inflammatory\s+)?corner\s+(?:inflammatory\s+)?lesions?", BME, True),
    (r"osteitis(?!\s+(?:condensans|deformans))", BME, True),
    # Active sacroiliitis is defined on MRI by periarticular marrow edema.
    (r"active\s+(?:inflammatory\s+)?sacroiliitis", BME, True),
    (_BRIGHT_MARROW, BME, True),
    (r"bone\s+bruis(?:e|es|ing)", BRUISE, True),
    (r"(?:bone|osseous|bony|trabecular)\s+contusions?", BRUISE, True),
    (rf"{_EDEMA}(?:[\s-]+like\s+signal(?:\s+intensity)?)?", BME, False),
    (_BRIGHT_SIGNAL, BME, False),
    (r"contusions?|bruis(?:e|es|ing)", BRUISE, False),
)

#: Words of which every match of every TERMS pattern contains one, in lower case ("edema" is
#: also in "oedema"; "intens" in "hyper-intense"), plus the case-sensitive "BM" that starts
#: "BME", "BML", "BMES"; "stress" is for :data:`STRESS_REACTION`. An ASCII text without any
#: of them has no term, so a few substring tests replace the sentence-by-sentence reading.
#: A new TERMS row must contain one of these (tests/findings/test_prefilters.py generates
#: matches of every row and checks).
TERM_WORDS: tuple[str, ...] = (
    "edema", "osteoporosis", "lesion", "bruis", "contusion", "modic", "osteitis", "sacroiliitis", "intens", "signal",
    "t1", "stress",
)
TERM_ABBREVIATION = "BM"

#: Words that make a nearby weak "edema"/"contusion" a soft-tissue finding.
SOFT_TISSUE_WORDS = (
    r"subcutaneous|soft[\s-]+tissues?|prepatellar|infrapatellar|suprapatellar|"
    r"muscles?|muscular|intramuscular|myo\w*|pedal|pericapsular|capsular|hoffa'?s?|"
    r"fat|pad|ligament\w*|tend[io]n\w*|peritendinous|achilles|perifascial|fascial?|"
    r"bursal?|interstitial|pulmonary|cerebral|dependent|pitting|lymph\w*|periosteal|"
    r"paraspinal|perineural|synovial|sinus\s+tarsi|skin|dermal|scrotal|facial|"
    r"cartilage|chondral|menisc\w*|labr(?:um|al)|discs?|annul\w*|cord|nerves?|foramin\w*|canal|thecal"
)

#: (pattern, site, joint, kind). ``site``/``joint`` are the output vocabulary
#: (None: not stated by this phrase). kind "bone": a bone part (ties a weak
#: term to the marrow); kind "region": the joint or region itself, which is
#: absorbed by a more precise site of the same joint in the same mention.
SITES: tuple[tuple[str, str | None, str | None, str], ...] = (
    (r"(?:medial\s+|lateral\s+)?femoral\s+condyl(?:e|es|ar)|(?-i:[ML]FC)\b", "femoral-condyle", "knee", "bone"),
    (r"tibial\s+(?:plateaus?|condyles?|tubercle|tuberosity|spines?|eminence)|proximal\s+tibiae?|(?-i:[ML]TP)\b",
     "tibia", "knee", "bone"),
    (r"distal\s+tibi(?:a|ae|al\s+(?:metaphysis|epiphysis))|(?:tibial\s+)?plafond", "tibia", "ankle", "bone"),
    (r"condyl(?:e|es)", "femoral-condyle", "knee", "bone"),
    (r"tibiae?|tibial(?:\s+shaft)?", "tibia", None, "bone"),
    (r"patell(?:a|ae|ar)(?!\s+(?:tendon|ligament|retinacul|bursa))|trochlea(?:r\s+groove)?|fibular\s+head|"
     r"proximal\s+fibula|distal\s+femur", "knee", "knee", "bone"),
    (r"knees?", "knee", "knee", "region"),
    (r"femoral\s+(?:heads?|necks?)|acetabul(?:um|ar)(?:\s+roof)?|(?:greater|lesser)\s+trochanters?|"
     r"intertrochanteric(?:\s+region)?|proximal\s+femur", "hip", "hip", "bone"),
    (r"hips?", "hip", "hip", "region"),
    (r"tal(?:us|ar)(?:\s+(?:dome|neck|body|head))?|malleol(?:us|i|ar)|distal\s+fibula", "ankle", "ankle", "bone"),
    (r"ankles?|tibiotalar(?:\s+joint)?", "ankle", "ankle", "region"),
    (r"calcane(?:us|al|um)(?!\s+(?:tendon|bursa|fat))|metatarsals?(?:\s+(?:heads?|shafts?|bases?))?|"
     r"navicular|cuboid|cuneiforms?|tarsal\s+bones?|sesamoids?", "foot", "foot", "bone"),
    (r"(?:mid|fore|hind)?foot|feet", "foot", "foot", "region"),
    (r"iliac\s+(?:side|aspect|surface)", None, "sacroiliac", "bone"),
    (r"(?:sacroiliac|(?-i:SI))\s+joints?|sacroiliac", None, "sacroiliac", "region"),
    (r"sacr(?:um|al)(?:\s+ala)?|(?-i:S[1-5])\b", "sacrum", "sacroiliac", "bone"),
    (r"vertebral\s+bod(?:y|ies)|vertebrae?|vertebral|(?:superior\s+|inferior\s+)?end\s*plates?|"
     r"(?-i:L[1-5]|T(?:1[0-2]|[3-9]))(?:\s*-\s*(?-i:[LTS])?\d{1,2})?\b", "spine", "spine", "bone"),
    (r"(?:lumbar|thoracic|cervical)\s+spine|spine", "spine", "spine", "region"),
    (r"pubic\s+(?:symphysis|rami|ramus|bones?|body)|symphysis\s+pubis|pubis|ilium|iliac\s+(?:wings?|bones?|crest)|"
     r"ischi(?:um|al\s+tuberosity)", None, "pelvis", "bone"),
    (r"(?:hemi)?pelvi[cs]", None, "pelvis", "region"),
)

#: Words of which every match of every SITES row contains one, in lower case, and
#: the case-sensitive abbreviations that stand alone ("MFC", "S1", "T12"). An ASCII
#: text (where ignoring case is just lower-casing) with none of them names no site,
#: so :func:`first_joint` does not scan it. A new SITES row must contain one of
#: these (tests/findings/test_prefilters.py generates matches of every row and checks).
SITE_WORDS: tuple[str, ...] = (
    "condyl", "tibi", "plafond", "patell", "trochlea", "fibula", "femur", "femoral", "knee", "acetabul",
    "trochanter", "hip", "talus", "talar", "malleol", "ankle", "calcane", "tarsal", "navicular", "cuboid",
    "cuneiform", "sesamoid", "foot", "feet", "iliac", "joint", "sacr", "vertebra", "plate", "spine", "pubi",
    "ilium", "ischi", "pelvi",
)
SITE_ABBREVIATIONS = r"[ML](?:FC|TP)|[SL][1-5]|T[1-9]"

#: Laterality words, looked for just before a site ("left medial femoral condyle").
LATERALITY_PATTERN = (
    r"(?P<bilateral>\b(?:left\s+and\s+right|right\s+and\s+left|bilateral(?:ly)?|both)\b)"
    r"|(?P<left>\b(?:left|lt)\b|(?-i:\bL\b)(?![-/]))"
    r"|(?P<right>\b(?:right|rt)\b|(?-i:\bR\b)(?![-/]))"
)

#: Nouns naming another finding. A site after such a noun belongs to it
#: ("bone marrow edema in the talus, no fracture of the calcaneus").
OTHER_FINDING_WORDS = (
    r"fractures?|tears?|torn|effusions?|cysts?|dislocation|subluxation|erosions?|osteonecrosis|necrosis|"
    r"(?-i:AVN)|tumou?rs?|mass(?:es)?|collapse|osteophytes?|chondral|cartilage|ligaments?|tendons?|"
    r"tendinosis|tendinopathy|menisc\w*|(?-i:[AP]CL|[ML]CL)|synovitis|bursitis|sprain|injury|"
    r"osteomyelitis|abscess|arthritis|osteoarthritis|degenerative|deformity|stress\s+(?:reaction|response|injury)"
)

#: Terms that name their place themselves: (pattern on the term's text, site, joint). A term
#: of these with no site phrase near it ("No active sacroiliitis", "no Romanus lesions")
#: is about that place.
IMPLIED_PLACES: tuple[tuple[str, str | None, str | None], ...] = (
    (r"modic|romanus|corner", "spine", "spine"),
    (r"sacroiliitis", None, "sacroiliac"),
)

#: "Stress reaction" is BME when the sentence speaks of the marrow and names no other BME
#: term ("stress reaction of the third metatarsal with marrow signal change").
STRESS_REACTION = r"stress\s+(?:reaction|response)"

# Cue tables. Each entry: (pattern, direction). "pre" cues act on what follows
# them in the clause, "post" cues on what precedes them, "both" on either.

#: Phrases that look like cues but are not: masked before cues are matched.
PSEUDO_CUES: tuple[str, ...] = (
    r"not\s+only",
    r"compared\s+(?:with|to)\s+(?:the\s+)?(?:prior|previous)",
    r"(?:possibly|likely|probably)\s+(?:reactive|degenerative|post-?traumatic|stress[\s-]related|mechanical|"
    r"inflammatory|related|due\s+to|from|secondary)",
)

_CHANGE_DEGREE = r"(?:(?:significant|substantial|appreciable|interval|definite|measurable|major|further)\s+)*"

#: The finding is there now (wins over history; loses to negation). "No change" and
#: "has not resolved" are here, not negations: they say the finding is still there.
CURRENT_CUES: tuple[tuple[str, str], ...] = (
    rf"no\s+{_CHANGE_DEGREE}(?:change|increase|decrease|worsening|progression|improvement)",
    rf"without\s+{_CHANGE_DEGREE}change",
    r"not\s+(?:\w+ly\s+)?changed(?:\s+(?:appreciably|significantly|substantially|materially))?",
    r"not\s+(?:present|seen|visible|identified|evident)\s+(?:on|in)\s+(?:the\s+)?(?:prior|previous|earlier|last)\s+"
    r"(?:MRI|MR|study|exam(?:ination)?|imaging|scan)",
    (r"(?:partial(?:ly)?|incomplete|near(?:ly)?[\s-]+complete|almost\s+complete)\s+resol\w*", "both"),
    r"(?:largely|mostly|partially|nearly|almost\s+(?:completely|entirely))\s+resolved",
    r"not\s+(?:yet\s+)?(?:completely\s+|fully\s+|entirely\s+)?resolved",
    r"again\s+(?:seen|noted|demonstrated|identified|visible|present)",
    r"today|(?:on\s+)?(?:the\s+)?(?:current|present|this)\s+(?:study|exam(?:ination)?|MRI|scan)",
    r"re-?demonstrat\w*",
    r"persist\w*",
    r"unchanged",
    r"stable",
    r"new(?:ly)?",
    r"increas\w*",
    r"decreas\w*",
    r"improv\w*",
    r"worse\w*",
    r"progress\w*",
    r"diminish\w*",
    r"(?:less|more)\s+(?:conspicuous|extensive|prominent|pronounced|intense)",
    r"smaller|larger",
    r"as\s+(?:(?:seen|noted|described|demonstrated)\s+)?(?:previously|before|on\s+the\s+(?:prior|previous)\s+\w+)",
    r"residual",
    r"resolving",
    r"evolving",
    r"subsiding",
    r"developing",
    r"still",
    r"remains?",
    r"ongoing",
    r"continued",
    r"currently",
    (r"now", "pre"),
)

#: The text asks about BME, or could not look for it, instead of reporting it:
#: no mention at all.
HYPOTHETICAL_CUES: tuple[tuple[str, str], ...] = (
    (r"(?:to\s+)?(?:evaluat(?:e|ion)|eval|assess(?:ment)?|screen(?:ing)?|look|search)\s+(?:for|of)", "pre"),
    (r"to\s+(?:evaluate|assess|exclude|detect)", "pre"),
    (r"rule\s+out", "pre"),
    (r"(?-i:r/o)", "pre"),
    (r"(?:could|can)(?:not|\s+not|'t)\s+be\s+(?:assessed|evaluated)|(?:is|are)\s+not\s+(?:assessable|evaluable)", "post"),
)

NEGATION_CUES: tuple[tuple[str, str], ...] = (
    (r"absent\s+(?:from|in|within|at)", "pre"),
    (r"(?:has\s+|have\s+)?converted\s+to", "post"),
    (r"(?:is|are|was|were|has|have)?\s*no\s+longer\s+(?:seen|visible|present|evident|identified|demonstrated)", "post"),
    (r"(?:has|have)\s+(?:completely\s+)?resolved", "post"),
    (r"(?:is|are|was|were)\s+(?:not|no\s+longer)\s+(?:seen|visible|present|evident|identified|demonstrated|appreciated)", "post"),
    (r"not\s+(?:seen|visible|present|evident|identified|demonstrated|appreciated)", "post"),
    (r"(?:is|are)\s+(?:absent|excluded|negative)", "post"),
    (r"(?:has|have)\s+(?:disappeared|healed)|healed", "post"),
    (r"ruled\s+out", "post"),
    (r"no\s+longer", "pre"),
    (r"(?:complete\s+|interval\s+)*resolution\s+of", "pre"),
    (r"(?:completely\s+)?resolved", "both"),
    (r"negative\s+for", "pre"),
    (r"free\s+of", "pre"),
    (r"(?:absence|lack)\s+of", "pre"),
    (r"rather\s+than", "pre"),
    (r"instead\s+of", "pre"),
    (r"without|w/o", "pre"),
    (r"no", "pre"),
    (r"not", "pre"),
    (r"neither|nor", "pre"),
    (r"none", "post"),
    (r"absent", "post"),
    (r"negative", "post"),
)

UNCERTAINTY_CUES: tuple[tuple[str, str], ...] = (
    (r"can(?:not|\s+not|'t)\s+be\s+(?:\w+ly\s+)?(?:excluded|ruled\s+out)|(?:is\s+)?not\s+(?:\w+ly\s+)?(?:excluded|ruled\s+out)",
     "post"),
    (r"(?:is|are)\s+(?:suspected|questioned|possible|likely|unlikely|probable|uncertain|doubtful|indeterminate|"
     r"equivocal|questionable|borderline|not\s+definite|(?:a\s+)?consideration|considered|favou?red(?!\s+over))", "post"),
    (r"of\s+(?:uncertain|unclear|indeterminate|undetermined)\s+(?:significance|etiology|aetiology|origin|cause)", "both"),
    (r"favou?red\s+over|possibility\s+of|(?:unclear|uncertain)(?:\s+(?:whether|if))?|whether", "pre"),
    (r"should\s+be\s+considered", "post"),
    (r"can(?:not|\s+not|'t)\s+(?:exclude|rule\s+out)", "pre"),
    (r"(?:may|might|could)\s+(?:represent|reflect|be|indicate)", "pre"),
    (r"differential(?:\s+diagnosis|\s+considerations?)?\s+(?:includes?|is)", "pre"),
    (r"suspicious\s+(?:for|of)|suspicion\s+of|suggestive\s+of|suggesting|concerning\s+for|concern\s+for", "pre"),
    (r"possible|possibly|probable|probably|likely|unlikely|doubtful|questionable|equivocal|suspected|presumed|query|"
     r"indeterminate|borderline", "pre"),
    (r"versus|vs\.?", "both"),
    (r"\?", "both"),
)

_YEAR = r"(?:19|20)\d{2}"

#: The finding belonged to an earlier time.
HISTORY_CUES: tuple[tuple[str, str], ...] = (
    (rf"(?:on|from|in)\s+(?:the\s+)?(?:{_YEAR}\s+)?(?:prior|previous|earlier|outside|old)\s+"
     r"(?:MRI|MR|study|exam(?:ination)?|imaging|scan)", "post"),
    (rf"(?:in|from|on|of|during|dated)\s+(?:\w+\s+){{0,2}}(?:\d{{1,2}}/){{0,2}}{_YEAR}\b", "both"),
    (rf"\((?:\w+\s+)?(?:\d{{1,2}}/){{0,2}}{_YEAR}\)", "both"),
    (rf"{_YEAR}\s+(?:\w+\s+)?(?:MRI|MR|study|exam(?:ination)?|report|scan|imaging|radiographs?)", "both"),
    (r"(?:prior|previous|earlier|outside|old|initial|baseline|index|original|pre-?operative|preceding|last|comparison)\s+"
     r"(?:\w+\s+){0,2}?(?:MRI|MR|CT|study|exam(?:ination)?|imaging|scan|radiographs?|report)", "both"),
    (r"reportedly|had\s+(?:been\s+)?(?:shown|demonstrated|revealed|reported|described|seen|noted)|"
     r"at\s+(?:the|that)\s+time(?:\s+of)?|in\s+the\s+past|last\s+(?:year|month|week)", "both"),
    (rf"(?:on|from)\s+(?:the\s+)?{_YEAR}\s+(?:MRI|MR|study|exam(?:ination)?|imaging|scan)", "post"),
    (r"(?:months|years|weeks)\s+ago", "post"),
    (r"(?:past\s+|remote\s+)?(?:history|hx)\s+of", "pre"),
    (r"prior|previous(?:ly)?|earlier|formerly|known|old|remote", "both"),
)

#: Section headers and what their text is: "context" (indication, history:
#: a mention there is historical), "technique" (no findings), or findings.
SECTION_HEADERS: tuple[tuple[str, str], ...] = (
    (r"clinical\s+(?:history|information|indication|question|details)|indications?|history|"
     r"reason\s+for\s+(?:exam(?:ination)?|study|referral|request)|comparison", "context"),
    (r"technique|protocol|exam(?:ination)?|procedure", "technique"),
    (r"impression|findings|conclusions?|opinion|summary|result", "findings"),
)

#: Clause boundaries: (pattern, kind). "contrast" and "new" start a clause
#: whose sites may continue the previous term; "with" starts one that may
#: borrow the previous clause's sites ("fracture of L1 with marrow edema").
CLAUSE_BREAKS: tuple[tuple[str, str], ...] = (
    (r"\b(?:but|however|although|though|whereas|while|except(?:\s+for)?|aside\s+from|apart\s+from|other\s+than|"
     r"besides|yet)\b", "contrast"),
    (r",\s*and\b|\bas\s+well\s+as\b", "contrast"),
    (r"\bthere\s+(?:is|are)\b", "new"),
    (r"(?<!consistent\s)(?<!compatible\s)(?<!keeping\s)(?<!associated\s)(?<!along\s)(?<!together\s)"
     r"(?<!replaced\s)(?<!filled\s)(?<!treated\s)(?<!seen\s)(?<!signal\s)\bwith\b", "with"),
)

PRESENT, UNCERTAIN, NEGATED, HISTORICAL = "present", "uncertain", "negated", "historical"

# ---------------------------------------------------------------------------
# Compiled forms
# ---------------------------------------------------------------------------

_FLAGS = re.IGNORECASE


def _alternation(patterns: Iterable[str], prefix: str) -> re.Pattern[str]:
    """One regex with a named group per table row, so a match says which row it was."""
    parts = [rf"(?P<{prefix}{i}>{p})" for i, p in enumerate(patterns)]
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w])", _FLAGS)


def _row(match: re.Match[str], prefix: str) -> int:
    """The table row a match came from: the matched row group encloses whatever else matched,
    so it is the last group to close (``lastgroup``), found without scanning every group."""
    return int(str(match.lastgroup)[len(prefix):])


def _with_direction(rows: Iterable[str | tuple[str, str]]) -> list[tuple[str, str]]:
    return [(row, "both") if isinstance(row, str) else row for row in rows]


_TERM_RE = _alternation((p for p, _, _ in TERMS), "t")
#: Rows that describe the marrow's signal: a finding named later in the sentence says what it is
#: ("STIR hyperintensity in the patella could reflect marrow edema" is uncertain BME, not also present BME).
_DESCRIPTION_ROWS = frozenset(i for i, (p, _, _) in enumerate(TERMS) if p in (_BRIGHT_MARROW, _BRIGHT_SIGNAL))
_SITE_RE = _alternation((p for p, _, _, _ in SITES), "s")
_SITE_ABBREVIATION_RE = re.compile(SITE_ABBREVIATIONS)
_LATERALITY_RE = re.compile(LATERALITY_PATTERN, _FLAGS)
_SOFT_TISSUE_RE = re.compile(rf"\b(?:{SOFT_TISSUE_WORDS})\b", _FLAGS)
#: A soft-tissue word just after a bone ("edema in the medial malleolus soft tissues").
_SOFT_TISSUE_AFTER_RE = re.compile(rf"\s+(?:{SOFT_TISSUE_WORDS})\b", _FLAGS)
_OTHER_FINDING_RE = re.compile(rf"\b(?:{OTHER_FINDING_WORDS})\b", _FLAGS)
_MARROW_RE = re.compile(r"\bmarrow\b", _FLAGS)
_QUALIFIED_BARE_RE = re.compile(
    r"\b(?:without|w/o|no|free\s+of|surrounding|associated|adjacent|reactive|perilesional)\s+$", _FLAGS
)
_COORDINATOR_RE = re.compile(r"\b(?:or|nor|and)\b|/", _FLAGS)
_IMPLIED_PLACE_RES = [(re.compile(p, _FLAGS), site, joint) for p, site, joint in IMPLIED_PLACES]
_STRESS_REACTION_RE = re.compile(rf"\b{STRESS_REACTION}\b", _FLAGS)
#: One item of a bare list after a negation cue: a few words, no cue or verb of its own.
_LIST_ITEM_RE = re.compile(r"\s*(?!(?:no|not|without|is|are|was|were|with)\b)[\w'/-]+(?:\s+(?!(?:no|not|is|are|with)\b)[\w'/-]+){0,3}\s*",
                           _FLAGS)
#: The list a term stands in goes on after it ("no fracture, dislocation, bone marrow edema or effusion").
_LIST_GOES_ON_RE = re.compile(r"(?:(?!\b(?:but|however|although|though|while|with|which|there)\b)[^,;.])*?(?:,\s*)?\b(?:or|nor)\b", _FLAGS)
#: A clause that is only a negated list ("No fracture, dislocation"): a following ", and" continues it.
_NEGATED_LIST_RE = re.compile(
    r"\s*(?:there\s+(?:is|are)\s+)?(?:no|without|negative\s+for|free\s+of|(?:absence|lack)\s+of|neither)\s+"
    r"(?:(?:evidence|signs?)\s+(?:of|for)\s+)?[\w'/-]+(?:\s+[\w'/-]+){0,3}(?:\s*,\s*[\w'/-]+(?:\s+[\w'/-]+){0,3})*\s*",
    _FLAGS)
_AND_BREAK_RE = re.compile(r",\s*and\b", _FLAGS)
#: Words that make a list item a finding reported present ("no fracture, small effusion, ...").
_DEGREE_RE = re.compile(r"\b(?:small|mild|moderate|large|trace|minimal|extensive|marked|severe|subtle|focal|diffuse|patchy)\b",
                        _FLAGS)
_RELATIVE_RE = re.compile(r"\s*(?:which|that)\b", _FLAGS)
#: Laterality written after a site: "oedema of the medial malleolus on the right", "in the sacrum bilaterally".
_LATERALITY_AFTER_RE = re.compile(
    r"[^,;]{0,40}?\b(?:on\s+the\s+(?P<left>left)|on\s+the\s+(?P<right>right)|(?P<bilateral>bilaterally|on\s+both\s+sides))\b",
    _FLAGS)
#: A sentence labelled as being about the bones ("Bones: no fracture or contusion").
_BONE_LABEL_RE = re.compile(r"\s*(?:bones?|osseous(?:\s+structures)?|bone\s+marrow|marrow)\s*:", _FLAGS)
#: Words that cannot end a sentence: a line ending in one goes on on the next line, in capitals too.
_JOINING_WORDS = frozenset(("or", "and", "nor", "of", "the", "with", "in", "no", "without"))
_SECTION_RE = re.compile(
    r"(?:^|(?<=[\s.;]))(?:" + "|".join(rf"(?P<h{i}>{p})" for i, (p, _) in enumerate(SECTION_HEADERS)) + r")\s*:",
    _FLAGS | re.MULTILINE,
)
_CLAUSE_RE = re.compile("|".join(rf"(?P<c{i}>{p})" for i, (p, _) in enumerate(CLAUSE_BREAKS)), _FLAGS)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_SENTENCE_BREAK_RE = re.compile(r"\n\s*|;\s*|(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_LIST_MARKER_RE = re.compile(r"(?:^|(?<=\s))(?:[-*\u2022]|\(?\d{1,2}[.)])\s+(?=[A-Za-z])")
_LIST_GAP_RE = re.compile(
    r"^[\s,]*(?:(?:and|or|as\s+well\s+as)\s+)?(?:(?:the|both)\s+)?"
    r"(?:(?:medial|lateral|anterior|posterior|superior|inferior|proximal|distal|central)\s+)*$",
    _FLAGS,
)
_BONE_TIE_GAP_RE = re.compile(
    r"^\s*(?:(?:is|are|was|were)\s+(?:seen|noted|present|identified)\s+)?"
    r"(?:in|within|of|involving|throughout|at|along|affecting)\s+(?:[\w'-]+\s+){0,6}$",
    _FLAGS,
)

#: Cue kinds in precedence order for one alternation (pseudo first so it masks).
_CUE_KINDS: tuple[tuple[str, list[tuple[str, str]]], ...] = (
    ("pseudo", [(p, "both") for p in PSEUDO_CUES]),
    ("hypothetical", list(HYPOTHETICAL_CUES)),
    ("current", _with_direction(CURRENT_CUES)),
    ("uncertain", list(UNCERTAINTY_CUES)),
    ("negated", list(NEGATION_CUES)),
    ("historical", list(HISTORY_CUES)),
)
_CUE_ROWS: list[tuple[str, str]] = [(kind, direction) for kind, rows in _CUE_KINDS for _, direction in rows]
_CUE_RE = re.compile(
    # One word-boundary check for all word cues (not one per cue), then the lone "?".
    r"(?<![\w-])(?:"
    + "|".join(rf"(?P<q{i}>{p})" for i, p in enumerate(p for _, rows in _CUE_KINDS for p, _ in rows) if p != r"\?")
    + r")(?![\w])|"
    + "|".join(rf"(?P<q{i}>{p})" for i, p in enumerate(p for _, rows in _CUE_KINDS for p, _ in rows) if p == r"\?"),
    _FLAGS,
)

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """One BME mention: what was said about which bone.

    ``site``, ``joint`` and ``laterality`` are None when the text does not say.
    """

    status: str
    term: str
    site: str | None = None
    joint: str | None = None
    laterality: str | None = None


@dataclass(frozen=True)
class Anatomy:
    """A site phrase found in text, in the output vocabulary."""

    site: str | None
    joint: str | None
    laterality: str | None
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class _Term:
    term: str
    start: int
    end: int


@dataclass(frozen=True)
class _Cue:
    kind: str
    direction: str
    start: int
    end: int


@dataclass(frozen=True)
class _Clause:
    start: int
    end: int
    kind: str  # how it began: "first", "contrast", "new", "with"


# ---------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------


def sections(text: str) -> list[tuple[str, str]]:
    """Cut a report into (kind, text) parts at known section headers.

    A section runs to the next header; a context or technique section also
    ends at a blank line, after which the text counts as findings again.
    """
    parts: list[tuple[str, str]] = []
    kind, start = "findings", 0
    # Every header ends with a colon, so a text without one (most conclusions) needs no scan.
    headers = _SECTION_RE.finditer(text) if ":" in text else ()
    for match in headers:
        parts.extend(_until_blank_line(kind, text[start:match.start()]))
        kind = SECTION_HEADERS[_row(match, "h")][1]
        start = match.end()
    parts.extend(_until_blank_line(kind, text[start:]))
    return [(k, t) for k, t in parts if t.strip()]


def _until_blank_line(kind: str, text: str) -> list[tuple[str, str]]:
    if kind == "findings":
        return [(kind, text)]
    pieces = _BLANK_LINE_RE.split(text.lstrip("\n"), maxsplit=1)
    if len(pieces) == 1:
        return [(kind, text)]
    return [(kind, pieces[0]), ("findings", pieces[1])]


def sentences(text: str) -> list[str]:
    """Split radiology text into sentences (lines, list items, full stops, semicolons)."""
    if "\n" in text:
        text = _unwrapped(text)
    unlisted = _LIST_MARKER_RE.sub("\n", text)
    return [piece.strip() for piece in _SENTENCE_BREAK_RE.split(unlisted) if piece.strip()]


def _unwrapped(text: str) -> str:
    """Join the lines of a sentence broken across lines: a line that ends without a stop or colon
    when the next goes on in lower case, or one that ends in a comma or a joining word."""
    lines = text.split("\n")
    joined = [lines[0]]
    for line in lines[1:]:
        before, after = joined[-1].rstrip(), line.lstrip()
        if before and after and (
                (before[-1] not in ".:;!?" and (after[0].islower() or after[0] == "("))
                or before[-1] == "," or before.rsplit(None, 1)[-1].lower() in _JOINING_WORDS):
            joined[-1] = f"{before} {after}"
        else:
            joined.append(line)
    return "\n".join(joined)


def _clauses(sentence: str) -> list[_Clause]:
    clauses, start, kind = [], 0, "first"
    for match in _CLAUSE_RE.finditer(sentence):
        if (_AND_BREAK_RE.match(match.group()) and "," in sentence[start:match.start()]
                and _NEGATED_LIST_RE.fullmatch(sentence, start, match.start())):
            continue  # "No fracture, dislocation, and marrow edema": the list goes on
        clauses.append(_Clause(start, match.start(), kind))
        start, kind = match.start(), CLAUSE_BREAKS[_row(match, "c")][1]
    clauses.append(_Clause(start, len(sentence), kind))
    return clauses


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------


def _laterality_before(text: str, start: int, floor: int) -> str | None:
    """The laterality word among the four words just before a site phrase, if any."""
    tail = " ".join(text[floor:start].split()[-4:])
    found = None
    for match in _LATERALITY_RE.finditer(tail):
        found = match.lastgroup
    return found


def find_anatomy(text: str) -> list[Anatomy]:
    """Every site phrase in ``text`` with the laterality written just before it.

    A site without its own laterality takes the one of the site just before
    it when only list words separate them ("left hip and knee").
    """
    found: list[Anatomy] = []
    for match in _SITE_RE.finditer(text):
        _, site, joint, kind = SITES[_row(match, "s")]
        floor = found[-1].end if found else 0
        laterality = _laterality_before(text, match.start(), floor)
        if laterality is None and found and _LIST_GAP_RE.match(text[found[-1].end:match.start()]):
            laterality = found[-1].laterality
        found.append(Anatomy(site, joint, laterality, match.start(), match.end(), kind))
    lowered = text.lower()
    if "on the" in lowered or "bilaterally" in lowered or "both sides" in lowered:  # laterality written after a site
        for i, site in enumerate(found):
            if site.laterality is None:
                after = _laterality_after(text, site.end, found[i + 1].start if i + 1 < len(found) else len(text))
                found[i] = replace(site, laterality=after) if after else site
    return found


def _laterality_after(text: str, start: int, end: int) -> str | None:
    """Laterality written shortly after a site and before the next one ("... on the right")."""
    match = _LATERALITY_AFTER_RE.match(text, start, end)
    return match.lastgroup if match else None


def may_mention_bme(text: str) -> bool:
    """False only when ``text`` cannot contain a BME term (``TERM_WORDS``): substring tests,
    much cheaper than a scan with an alternation of the words."""
    if TERM_ABBREVIATION in text or not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in TERM_WORDS)


def may_name_a_site(text: str) -> bool:
    """False only when ``text`` cannot contain a site phrase (``SITE_WORDS``): a few substring
    tests instead of the site expression's scan, which is slow on a long text."""
    if not text.isascii() or _SITE_ABBREVIATION_RE.search(text):
        return True
    lowered = text.lower()
    return any(word in lowered for word in SITE_WORDS)


def first_joint(text: str) -> str | None:
    """The joint of the first site phrase in ``text`` that names one: what :func:`find_anatomy`
    would say, without working out lateralities nobody asked for (nor scanning a text that
    :func:`may_name_a_site` rules out)."""
    if not may_name_a_site(text):
        return None
    for match in _SITE_RE.finditer(text):
        joint = SITES[_row(match, "s")][2]
        if joint:
            return joint
    return None


def laterality_in(text: str) -> str | None:
    """The one laterality a short title states ("MRI knee left"), None if none or several."""
    values = {match.lastgroup for match in _LATERALITY_RE.finditer(text)}
    return values.pop() if len(values) == 1 else None


def _weak_term_is_bone(sentence: str, term: _Term, clause: _Clause, anatomy: Sequence[Anatomy]) -> bool:
    """Is a bare "edema"/"contusion" a marrow finding here?

    Yes when it is tied to a bone ("edema in the talus", "talar edema"), when
    the clause is about the marrow ("marrow is free of edema"), or when a
    bone named earlier in the sentence is said to be without it or to have it
    around a lesion ("Schmorl node at L2 without edema", "fracture of the
    femoral head with surrounding edema"); never when a soft-tissue word
    qualifies it ("subcutaneous edema over the malleolus", "popliteal cyst
    with surrounding edema").
    """
    before = sentence[clause.start:term.start]
    if _SOFT_TISSUE_RE.search(" ".join(before.split()[-3:])):
        return False
    if _BONE_LABEL_RE.match(sentence):
        return True
    whole_before = sentence[:term.start]
    if (_QUALIFIED_BARE_RE.search(before) and not _SOFT_TISSUE_RE.search(whole_before)
            and any(s.kind == "bone" and s.end <= term.start for s in anatomy)):
        return True
    for site in anatomy:
        if site.kind != "bone":
            continue
        if site.end <= term.start and not sentence[site.end:term.start].strip():
            return True
        if site.start >= term.end and site.start < clause.end:
            gap = sentence[term.end:site.start]
            if (_BONE_TIE_GAP_RE.match(gap) and not _SOFT_TISSUE_RE.search(gap)
                    and not _SOFT_TISSUE_AFTER_RE.match(sentence, site.end)):
                return True
            break
    return bool(_MARROW_RE.search(sentence[clause.start:term.start]))


def _cues(sentence: str) -> list[_Cue]:
    cues = []
    for match in _CUE_RE.finditer(sentence):
        kind, direction = _CUE_ROWS[_row(match, "q")]
        if kind != "pseudo":
            cues.append(_Cue(kind, direction, match.start(), match.end()))
    return cues


def _status(cues: Iterable[_Cue]) -> str | None:
    """Precedence: hypothetical (no mention) > negated > current > historical > uncertain."""
    kinds = {cue.kind for cue in cues}
    if "hypothetical" in kinds:
        return None
    if "negated" in kinds:
        return NEGATED
    if "current" in kinds:
        return UNCERTAIN if "uncertain" in kinds else PRESENT
    if "historical" in kinds:
        return HISTORICAL
    if "uncertain" in kinds:
        return UNCERTAIN
    return PRESENT


def _reaches(sentence: str, cue: _Cue, target: int) -> bool:
    """Does a forward cue reach ``target`` across commas?

    Across a comma only in a list ("no fracture, dislocation or marrow
    edema", "no fracture, dislocation, marrow edema"), not in terse style
    ("no fracture, marrow edema in the talus"); a time phrase also across
    the comma that ends it ("In 2021, MRI showed ...").
    """
    between = sentence[cue.end:target]
    if cue.kind == HISTORICAL and between.lstrip(" )").startswith(","):
        between = between.lstrip(" )")[1:]  # an opening phrase: "On the prior MRI, there was ..."
    if "," not in between:
        return True
    *items, last = between.split(",")
    if _COORDINATOR_RE.search(last) or _RELATIVE_RE.match(last):
        return True
    if last.strip() or not all(_LIST_ITEM_RE.fullmatch(item) and not _DEGREE_RE.search(item) for item in items[1:]) \
            or not _LIST_ITEM_RE.fullmatch(items[0]):
        return False
    # Bare items up to the target: a list when it has three items or more, or goes on with "or"/"nor".
    return len(items) >= 2 or bool(_LIST_GOES_ON_RE.match(sentence, target))


def _forward(cues: Iterable[_Cue], sentence: str, start: int, target: int) -> list[_Cue]:
    return [c for c in cues if c.direction != "post" and start <= c.start and c.end <= target
            and _reaches(sentence, c, target)]


def _backward(cues: Iterable[_Cue], start: int, end: int) -> list[_Cue]:
    return [c for c in cues if c.direction != "pre" and start <= c.start and c.end <= end]


def _in(clause: _Clause, start: int) -> bool:
    return clause.start <= start < clause.end


@dataclass
class _Group:
    """A term with the sites attached to it and the status of each."""

    term: _Term
    clause: _Clause
    status: str | None
    sites: list[tuple[Anatomy, str | None]]


def _scope_end(term: _Term, clause: _Clause, terms: Sequence[_Term]) -> int:
    """Where a term's reach ends: at the next term of its clause, else at the clause end."""
    return min((t.start for t in terms if t.start > term.start and _in(clause, t.start)), default=clause.end)


def _following_sites(sentence: str, sites: Iterable[Anatomy], anchor: int, status: str | None,
                     cues: Sequence[_Cue], *, first_may_follow_other_finding: bool) -> list[tuple[Anatomy, str | None]]:
    """Sites in a row after ``anchor``, each with its status.

    Cues just before a site apply to it and to the sites after it ("in the
    MFC but not the tibial plateau"). A site that follows another finding's
    noun ("..., no fracture of the tibia") belongs to that finding: the walk
    stops there, except for the first site after a term, which is the term's
    even so ("bone marrow edema without fracture line in the talus").
    """
    attached: list[tuple[Anatomy, str | None]] = []
    for site in sites:
        gap = sentence[anchor:site.start]
        foreign = bool(_OTHER_FINDING_RE.search(gap))
        if foreign and (attached or not first_may_follow_other_finding):
            break
        gap_cues = [] if foreign else _forward(cues, sentence, anchor, site.start)
        status = _status(gap_cues) if gap_cues else status
        attached.append((site, status))
        anchor = site.end
    return attached


def _own_sites(sentence: str, group: _Group, terms: Sequence[_Term], anatomy: Sequence[Anatomy],
               cues: Sequence[_Cue]) -> list[tuple[Anatomy, str | None]]:
    """Sites in the term's clause: those before it (when it is the clause's first term) and
    those after it up to the next term, so a site between two terms belongs to the earlier one."""
    clause, term = group.clause, group.term
    first_in_clause = not any(t.end <= term.start and _in(clause, t.start) for t in terms)
    before = [(s, group.status) for s in anatomy if first_in_clause and clause.start <= s.start < term.start]
    end = _scope_end(term, clause, terms)
    after = [s for s in anatomy if term.end <= s.start < end]
    return before + _following_sites(sentence, after, term.end, group.status, cues, first_may_follow_other_finding=True)


def _term_status(sentence: str, term: _Term, clause: _Clause, anatomy: Sequence[Anatomy],
                 cues: Sequence[_Cue], terms: Sequence[_Term]) -> str | None:
    """Status from the cues before the term and after it (but not the cues between its later sites)."""
    end = _scope_end(term, clause, terms)
    after_sites = [s for s in anatomy if term.end <= s.start < end]
    forward = _forward(cues, sentence, clause.start, term.start)
    if after_sites:
        backward = _backward(cues, term.end, after_sites[0].start) + _backward(cues, after_sites[-1].end, end)
    else:
        backward = _backward(cues, term.end, end)
    return _status(forward + backward)


def _terms(sentence: str, clauses: Sequence[_Clause], anatomy: Sequence[Anatomy]) -> list[_Term]:
    found, described = [], []
    for match in _TERM_RE.finditer(sentence):
        row = _row(match, "t")
        _, normalised, strong = TERMS[row]
        term = _Term(normalised, match.start(), match.end())
        if strong or _weak_term_is_bone(sentence, term, _clause_of(clauses, term.start), anatomy):
            (described if row in _DESCRIPTION_ROWS else found).append(term)
    if described:
        # A description counts unless a named finding after it interprets it.
        found = sorted(found + [d for d in described if not any(t.start > d.start for t in found)], key=lambda t: t.start)
    if not found and _MARROW_RE.search(sentence):
        found.extend(_Term(BME, m.start(), m.end()) for m in _STRESS_REACTION_RE.finditer(sentence))
    return found


def _implied_site(sentence: str, term: _Term, clause: _Clause) -> Anatomy | None:
    """The place a term names itself (``IMPLIED_PLACES``), with the laterality written around it."""
    text = sentence[term.start:term.end]
    for pattern, site, joint in _IMPLIED_PLACE_RES:
        if pattern.search(text):
            laterality = (_laterality_before(sentence, term.start, clause.start)
                          or _laterality_after(sentence, term.end, clause.end))
            return Anatomy(site, joint, laterality, term.start, term.end, "region")
    return None


def _clause_of(clauses: Sequence[_Clause], position: int) -> _Clause:
    return next(c for c in clauses if _in(c, position))


def _sentence_mentions(sentence: str) -> list[Mention]:
    # Most report sentences never mention BME: one cheap scan.
    if not _TERM_RE.search(sentence) and not _STRESS_REACTION_RE.search(sentence):
        return []
    clauses = _clauses(sentence)
    anatomy = find_anatomy(sentence)
    terms = _terms(sentence, clauses, anatomy)
    if not terms:
        return []
    cues = _cues(sentence)
    groups: list[_Group] = []
    for term in terms:
        clause = _clause_of(clauses, term.start)
        group = _Group(term, clause, _term_status(sentence, term, clause, anatomy, cues, terms), [])
        group.sites.extend(_own_sites(sentence, group, terms, anatomy, cues))
        groups.append(group)
    for index, clause in enumerate(clauses[1:], start=1):
        _borrow_from_previous_clause(groups, clause, clauses[index - 1], anatomy)
        _continue_previous_term(sentence, groups, clause, anatomy, cues)
    _share_within_clause(groups)
    for group in groups:
        implied = None if group.sites else _implied_site(sentence, group.term, group.clause)
        if implied is not None:
            group.sites.append((implied, group.status))
    return _mentions(groups)


def _borrow_from_previous_clause(groups: Sequence[_Group], clause: _Clause, previous: _Clause,
                                 anatomy: Sequence[Anatomy]) -> None:
    """A term whose clause names no site takes the sites of the clause before
    ("compression fracture of L1 with marrow edema"); a term with sites still takes the
    region phrase before it, for its laterality ("ACL tear of the right knee with bone
    bruises in the LFC")."""
    before = [s for s in anatomy if _in(previous, s.start)]
    for group in (g for g in groups if g.clause == clause):
        joints = {s.joint for s, _ in group.sites}
        borrowed = before if not group.sites else [s for s in before if s.kind == "region" and s.joint in joints]
        group.sites.extend((s, group.status) for s in borrowed)


def _continue_previous_term(sentence: str, groups: Sequence[_Group], clause: _Clause,
                            anatomy: Sequence[Anatomy], cues: Sequence[_Cue]) -> None:
    """A clause with no term after a contrast word continues the last term
    ("... in the MFC but not in the tibial plateau", "..., and a small focus in the patella")."""
    if clause.kind not in ("contrast", "new") or any(g.clause == clause for g in groups):
        return
    earlier = [g for g in groups if g.term.start < clause.start]
    if not earlier:
        return
    owner = earlier[-1]
    status = owner.sites[-1][1] if owner.sites else owner.status
    sites = [s for s in anatomy if _in(clause, s.start)]
    owner.sites.extend(_following_sites(sentence, sites, clause.start, status, cues, first_may_follow_other_finding=False))


def _share_within_clause(groups: Sequence[_Group]) -> None:
    """A term with no site shares the sites of another term of its clause
    ("edema-like signal in the MFC, which may represent a bone bruise")."""
    for group in groups:
        if not group.sites:
            donor = next((g for g in groups if g.clause == group.clause and g.sites), None)
            if donor is not None:
                group.sites.extend((s, group.status) for s, _ in donor.sites)


def _mentions(groups: Sequence[_Group]) -> list[Mention]:
    """Turn groups into mentions: absorb region phrases, share laterality, drop duplicates."""
    mentions: list[Mention] = []
    for group in groups:
        precise = [(s, st) for s, st in group.sites if s.kind != "region"]
        regions = [(s, st) for s, st in group.sites if s.kind == "region"]
        kept = list(precise)
        for region, status in regions:
            same_joint = [s for s, _ in precise if s.joint == region.joint]
            if not same_joint:
                kept.append((region, status))
        for site, status in kept:
            if status is None:
                continue
            laterality = site.laterality
            if laterality is None:
                laterality = next((r.laterality for r, _ in regions
                                   if r.joint == site.joint and r.laterality and r is not site), None)
            mentions.append(Mention(status, group.term.term, site.site, site.joint, laterality))
        if not kept and group.status is not None:
            mentions.append(Mention(group.status, group.term.term))
    return _share_laterality(_dedupe(mentions))


def _share_laterality(mentions: list[Mention]) -> list[Mention]:
    """A mention without laterality takes the one stated for the same joint in the sentence."""
    by_joint: dict[str, set[str]] = {}
    for m in mentions:
        if m.joint and m.laterality:
            by_joint.setdefault(m.joint, set()).add(m.laterality)
    shared = [
        replace(m, laterality=next(iter(by_joint[m.joint])))
        if m.laterality is None and m.joint and len(by_joint.get(m.joint, ())) == 1 else m
        for m in mentions
    ]
    return _dedupe(shared)


def _dedupe(mentions: Iterable[Mention]) -> list[Mention]:
    """Drop repeats of the same status and place; drop a placeless one when a placed one says the same."""
    seen: dict[tuple[str, str | None, str | None, str | None], Mention] = {}
    for m in mentions:
        seen.setdefault((m.status, m.site, m.joint, m.laterality), m)
    placed_statuses = {m.status for m in seen.values() if m.site or m.joint}
    return [m for m in seen.values() if m.site or m.joint or m.status not in placed_statuses]


def find_mentions(text: str) -> list[Mention]:
    """All BME mentions in a report text, in order, with status, site and laterality.

    In context sections (indication, clinical history, comparison) a present
    or uncertain mention is reported as historical; technique sections are
    skipped.
    """
    return ReportText(text).mentions


# ---------------------------------------------------------------------------
# Overall result of a study
# ---------------------------------------------------------------------------

#: A sentence that says the study (or a part of it) is normal.
NORMAL_STATEMENT = (
    r"\b(?:normal|negative|unremarkable|within\s+normal\s+limits|intact|preserved|maintained|"
    r"no\s+acute\s+(?:osseous\s+|bony\s+)?(?:abnormality|findings?|process))\b"
)
#: A sentence that starts by denying findings ("No fracture or dislocation.").
NEGATIVE_OPENING = r"^(?:there\s+(?:is|are)\s+)?(?:no|without|negative\s+for|nothing)\b"
#: Words that let a sentence report something besides the normal part.
NORMAL_EXCEPTIONS = r"\b(?:but|however|except|although|though|apart\s+from|aside\s+from|other\s+than|otherwise|with)\b"
#: Sentences that neither report nor deny a finding: advice, and (when they
#: name no finding) the views taken.
ADVICE_STATEMENT = (
    r"\b(?:recommend\w*|correlat\w*|follow[\s-]?up|consider\w*|if\s+(?:symptoms|pain)|"
    r"could\s+be\s+(?:obtained|performed)|may\s+be\s+(?:obtained|performed|helpful)|further\s+evaluation|"
    r"dictated|signed)\b"
)
VIEWS_STATEMENT = r"\bviews?\b"
_NORMAL_RE = re.compile(NORMAL_STATEMENT, _FLAGS)
_NEGATIVE_OPENING_RE = re.compile(NEGATIVE_OPENING, _FLAGS)
_NORMAL_EXCEPTIONS_RE = re.compile(NORMAL_EXCEPTIONS, _FLAGS)
_ADVICE_RE = re.compile(ADVICE_STATEMENT, _FLAGS)
_VIEWS_RE = re.compile(VIEWS_STATEMENT, _FLAGS)


def _is_normal_statement(sentence: str) -> bool:
    if _NORMAL_EXCEPTIONS_RE.search(sentence):
        return False
    return bool(_NEGATIVE_OPENING_RE.search(sentence) or _NORMAL_RE.search(sentence))


def conclusion_result(text: str) -> str:
    """``negative``, ``abnormal`` or ``unknown`` for a study's conclusion text.

    Abnormal when BME is reported present or any sentence reports something
    that is not a normal statement; negative when every reporting sentence
    is normal ("Normal radiographs. No fracture."); unknown when the text
    says neither. Advice ("MRI may be considered if pain persists") and
    context sections do not count.
    """
    return ReportText(text).result


class ReportText:
    """One report text, read for its BME mentions and for the study's result.

    Derived facts need both readings of the same text (through :func:`read`,
    which remembers them); this cuts the text into sections and sentences
    once for both, each reading computed on first use. A text in which no
    term word occurs (``TERM_WORDS``) has no mention, which a few substring
    tests settle for most reports.
    """

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def _sentences(self) -> list[tuple[str, list[str]]]:
        """(section kind, sentences) of each section that is not technique (which reports nothing)."""
        return [(kind, sentences(part)) for kind, part in sections(self.text) if kind != "technique"]

    @cached_property
    def mentions(self) -> list[Mention]:
        """What :func:`find_mentions` returns."""
        if not may_mention_bme(self.text):
            return []
        mentions: list[Mention] = []
        for kind, part in self._sentences:
            for sentence in part:
                for mention in _sentence_mentions(sentence):
                    if kind == "context" and mention.status in (PRESENT, UNCERTAIN):
                        mention = replace(mention, status=HISTORICAL)
                    mentions.append(mention)
        return mentions

    @cached_property
    def result(self) -> str:
        """What :func:`conclusion_result` returns."""
        if any(m.status == PRESENT for m in self.mentions):
            return "abnormal"
        normal = False
        for kind, part in self._sentences:
            if kind != "findings":
                continue
            for sentence in part:
                if _ADVICE_RE.search(sentence) or (_VIEWS_RE.search(sentence) and not _OTHER_FINDING_RE.search(sentence)):
                    continue
                if not _is_normal_statement(sentence):
                    return "abnormal"
                normal = True
        return "negative" if normal else "unknown"


@dataclass(frozen=True)
class Reading:
    """What one report text says: its BME mentions (:func:`find_mentions`) and the study's result (:func:`conclusion_result`)."""

    mentions: tuple[Mention, ...]
    result: str


@remembered_by_digest
def read(text: str) -> Reading:
    """The reading of ``text``, remembered by its digest (see :mod:`plugin.text_memo` for why)."""
    reading = ReportText(text)
    return Reading(tuple(reading.mentions), reading.result)

"""CAMEO event codes: a compact code → label table for GDELT event titles.

GDELT codes every event with CAMEO (Conflict and Mediation Event Observations, Schrodt et
al., Event Data Project, codebook v1.1b3 — public). This table holds the 20 root codes and
the 3-digit base codes, written from the codebook's code names with "not specified below"
dropped so that labels read well inside a title. A 4-digit code is described by its base code
(``1822`` "torture" → ``182`` "physically assault"), which keeps the table small at the cost
of that last level of detail.

Origin note: the ``cameoCodes.json`` shipped with gdeltPyR (the ``gdelt`` PyPI package)
follows an older numbering for some 12x/16x/17x codes; GDELT 2.0 exports use the v1.1b3
numbering below (as in GDELT's own ``CAMEO.eventcodes.txt`` lookup).
"""

from __future__ import annotations

ROOT: dict[str, str] = {
    "01": "make public statement",
    "02": "appeal",
    "03": "express intent to cooperate",
    "04": "consult",
    "05": "engage in diplomatic cooperation",
    "06": "engage in material cooperation",
    "07": "provide aid",
    "08": "yield",
    "09": "investigate",
    "10": "demand",
    "11": "disapprove",
    "12": "reject",
    "13": "threaten",
    "14": "protest",
    "15": "exhibit force posture",
    "16": "reduce relations",
    "17": "coerce",
    "18": "assault",
    "19": "fight",
    "20": "use unconventional mass violence",
}

BASE: dict[str, str] = {
    "010": "make statement", "011": "decline comment", "012": "make pessimistic comment",
    "013": "make optimistic comment", "014": "consider policy option",
    "015": "acknowledge or claim responsibility", "016": "deny responsibility",
    "017": "engage in symbolic act", "018": "make empathetic comment", "019": "express accord",
    "020": "make an appeal or request", "021": "appeal for material cooperation",
    "022": "appeal for diplomatic cooperation", "023": "appeal for aid",
    "024": "appeal for political reform", "025": "appeal to yield",
    "026": "appeal to others to meet or negotiate", "027": "appeal to others to settle dispute",
    "028": "appeal to others to engage in or accept mediation",
    "030": "express intent to cooperate",
    "031": "express intent to engage in material cooperation",
    "032": "express intent to provide diplomatic cooperation",
    "033": "express intent to provide material aid",
    "034": "express intent to institute political reform", "035": "express intent to yield",
    "036": "express intent to meet or negotiate", "037": "express intent to settle dispute",
    "038": "express intent to accept mediation", "039": "express intent to mediate",
    "040": "consult", "041": "discuss by telephone", "042": "make a visit",
    "043": "host a visit", "044": "meet at a third location", "045": "mediate",
    "046": "engage in negotiation",
    "050": "engage in diplomatic cooperation", "051": "praise or endorse",
    "052": "defend verbally", "053": "rally support on behalf of",
    "054": "grant diplomatic recognition", "055": "apologize", "056": "forgive",
    "057": "sign formal agreement",
    "060": "engage in material cooperation", "061": "cooperate economically",
    "062": "cooperate militarily", "063": "engage in judicial cooperation",
    "064": "share intelligence or information",
    "070": "provide aid", "071": "provide economic aid", "072": "provide military aid",
    "073": "provide humanitarian aid", "074": "provide military protection or peacekeeping",
    "075": "grant asylum",
    "080": "yield", "081": "ease administrative sanctions", "082": "ease political dissent",
    "083": "accede to requests or demands for political reform", "084": "return, release",
    "085": "ease economic sanctions, boycott, embargo", "086": "allow international involvement",
    "087": "de-escalate military engagement",
    "090": "investigate", "091": "investigate crime, corruption",
    "092": "investigate human rights abuses", "093": "investigate military action",
    "094": "investigate war crimes",
    "100": "demand", "101": "demand information, investigation", "102": "demand policy support",
    "103": "demand aid, protection, or peacekeeping", "104": "demand political reform",
    "105": "demand mediation", "106": "demand withdrawal", "107": "demand ceasefire",
    "108": "demand meeting, negotiation",
    "110": "disapprove", "111": "criticize or denounce", "112": "accuse",
    "113": "rally opposition against", "114": "complain officially",
    "115": "bring lawsuit against", "116": "find guilty or liable (legally)",
    "120": "reject", "121": "reject material cooperation",
    "122": "reject request or demand for material aid",
    "123": "reject request or demand for political reform", "124": "refuse to yield",
    "125": "reject proposal to meet, discuss, or negotiate", "126": "reject mediation",
    "127": "reject plan, agreement to settle dispute", "128": "defy norms, law", "129": "veto",
    "130": "threaten", "131": "threaten non-force",
    "132": "threaten with administrative sanctions",
    "133": "threaten with political dissent, protest", "134": "threaten to halt negotiations",
    "135": "threaten to halt mediation", "136": "threaten to halt international involvement",
    "137": "threaten with repression", "138": "threaten with military force",
    "139": "give ultimatum",
    "140": "engage in political dissent", "141": "demonstrate or rally",
    "142": "conduct hunger strike", "143": "conduct strike or boycott",
    "144": "obstruct passage, block", "145": "protest violently, riot",
    "150": "demonstrate military or police power", "151": "increase police alert status",
    "152": "increase military alert status", "153": "mobilize or increase police power",
    "154": "mobilize or increase armed forces", "155": "mobilize or increase cyber-forces",
    "160": "reduce relations", "161": "reduce or break diplomatic relations",
    "162": "reduce or stop material aid", "163": "impose embargo, boycott, or sanctions",
    "164": "halt negotiations", "165": "halt mediation", "166": "expel or withdraw",
    "170": "coerce", "171": "seize or damage property",
    "172": "impose administrative sanctions",
    "173": "arrest, detain, or charge with legal action", "174": "expel or deport individuals",
    "175": "use tactics of violent repression", "176": "attack cybernetically",
    "180": "use unconventional violence", "181": "abduct, hijack, or take hostage",
    "182": "physically assault", "183": "conduct suicide, car, or other non-military bombing",
    "184": "use as human shield", "185": "attempt to assassinate", "186": "assassinate",
    "190": "use conventional military force", "191": "impose blockade, restrict movement",
    "192": "occupy territory", "193": "fight with small arms and light weapons",
    "194": "fight with artillery and tanks", "195": "employ aerial weapons",
    "196": "violate ceasefire",
    "200": "use unconventional mass violence", "201": "engage in mass expulsion",
    "202": "engage in mass killings", "203": "engage in ethnic cleansing",
    "204": "use weapons of mass destruction",
}

QUAD_CLASS: dict[int, str] = {1: "verbal cooperation", 2: "material cooperation",
                              3: "verbal conflict", 4: "material conflict"}


def describe(code: str) -> str | None:
    """The label of a CAMEO event code: exact base/root match, else its 3-digit base, else its
    2-digit root; ``None`` for a code that is not CAMEO."""
    code = code.strip()
    return BASE.get(code) or BASE.get(code[:3]) or ROOT.get(code) or (
        ROOT.get(code[:2]) if len(code) >= 2 and code[:2].isdigit() else None)

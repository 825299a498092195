"""The event ontology: types fit for migration/diplomacy news, mapped to CAMEO and PLOVER."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    label: str  # human wording for timelines
    cameo: str
    plover: str


TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType("deportation_flight", "deportation/repatriation", "174", "COERCE"),
        EventType("suspension", "suspension", "16", "REJECT"),
        EventType("resumption", "resumption", "06", "COOPERATE"),
        EventType("agreement", "agreement", "057", "AGREE"),
        EventType("acceptance", "acceptance", "084", "CONCEDE"),
        EventType("accusation", "accusation/criticism", "11", "ACCUSE"),
        EventType("request", "request/urging", "10", "REQUEST"),
        EventType("protection_granted", "protection granted", "07", "AID"),
        EventType("protection_revoked", "protection revoked", "172", "SANCTION"),
        EventType("detention", "detention/transfer", "173", "COERCE"),
        EventType("sanction", "sanction", "163", "SANCTION"),
    )
}

# verb lemma → event type
VERB_TRIGGERS: dict[str, str] = {
    "deport": "deportation_flight", "repatriate": "deportation_flight",
    "expel": "deportation_flight", "transfer": "deportation_flight",
    "send": "deportation_flight", "return": "deportation_flight",
    "depart": "deportation_flight", "land": "deportation_flight", "fly": "deportation_flight",
    "resume": "resumption", "restart": "resumption", "revive": "resumption",
    "suspend": "suspension", "halt": "suspension", "pause": "suspension",
    "stall": "suspension", "cease": "suspension", "cut": "suspension", "break": "suspension",
    "agree": "agreement", "sign": "agreement", "broker": "agreement", "negotiate": "agreement",
    "accept": "acceptance",
    "accuse": "accusation", "criticize": "accusation", "criticise": "accusation",
    "blast": "accusation", "condemn": "accusation", "denounce": "accusation",
    "claim": "accusation",
    "urge": "request", "pressure": "request", "press": "request", "request": "request",
    "demand": "request", "seek": "request",
    "grant": "protection_granted", "extend": "protection_granted",
    "increase": "protection_granted",
    "revoke": "protection_revoked", "cancel": "protection_revoked",
    "terminate": "protection_revoked", "strip": "protection_revoked",
    "detain": "detention", "arrest": "detention", "imprison": "detention", "jail": "detention",
    "house": "detention",
    "sanction": "sanction", "designate": "sanction",
}

# noun lemma → event type (only as the head of a phrase, never as a compound modifier)
NOUN_TRIGGERS: dict[str, str] = {
    "deportation": "deportation_flight", "repatriation": "deportation_flight",
    "resumption": "resumption", "restart": "resumption",
    "suspension": "suspension",
    "agreement": "agreement", "deal": "agreement",
    "accusation": "accusation", "criticism": "accusation", "condemnation": "accusation",
    "cancellation": "protection_revoked", "revocation": "protection_revoked",
    "detention": "detention",
    "sanction": "sanction",
}

# words that must be near a trigger for the trigger to count
NEEDS_CONTEXT: dict[str, set[str]] = {
    "send": {"deport", "prison", "deportee", "migrant", "national", "venezuelans", "salvador",
             "gang"},
    "return": {"deport", "flight", "repatriat", "deportee", "home", "migrant"},
    "depart": {"flight", "plane", "jet", "deport", "repatriat"},
    "land": {"flight", "plane", "jet"},
    "fly": {"migrant", "deport", "deportee", "repatriat", "national", "detainee"},
    "transfer": {"national", "migrant", "prison", "deportee", "detainee", "venezuelan"},
    "grant": {"status", "relief", "permit", "protection", "parole", "asylum"},
    "extend": {"status", "relief", "permit", "protection", "parole"},
    "increase": {"status", "protection", "relief"},
    "revoke": {"status", "permission", "protection", "parole", "permit", "visa"},
    "cancel": {"status", "protection", "parole", "permit", "visa", "flight"},
    "cancellation": {"status", "protection", "parole", "permit", "visa"},
    "terminate": {"status", "protection", "parole", "permit"},
    "strip": {"status", "protection", "citizenship"},
    "cut": {"tie", "relation"},
    "break": {"tie", "relation"},
    "cease": {"accept", "flight", "deport", "relation"},
    "house": {"prison", "jail", "detention", "accused"},
    "claim": {"fail", "not", "lie", "promise"},
    "seek": {"lift", "sanction", "end"},
    "press": {"to"},
    "designate": {"terrorist", "organization", "organisation"},
    "sign": {"agreement", "deal", "accord", "order"},
    "negotiate": {"with", "deal", "agreement"},
    "deal": {"with", "reach", "broker", "between", "strike"},
    "stall": {"flight", "deport"},
    "pause": {"flight", "deport"},
    "halt": {"flight", "deport", "relation"},
    "restart": {"flight", "deport", "repatriat", "mechanism", "talk"},
    "resume": {"flight", "deport", "repatriat", "talk", "relation", "effort"},
    "revive": {"flight", "deport", "repatriat"},
    "suspend": {"flight", "deport", "relation", "talk", "program"},
    "accept": {"flight", "deport", "migrant", "deportee", "return"},
}

PEOPLE_UNITS = {
    "migrant", "migrants", "national", "nationals", "venezuelans", "venezuelan", "people",
    "deportee", "deportees", "men", "women", "individuals", "citizens", "immigrants",
    "passengers", "detainees", "members", "children", "families", "persons", "asylum-seekers",
}

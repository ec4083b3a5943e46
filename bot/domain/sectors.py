"""Economic sectors as ISIC Rev.4 sections, the way firms pick theirs at registration."""

from __future__ import annotations

from bot.i18n import N_

# Sections O (public administration), T (households) and U (extraterritorial bodies) are left
# out: no firm of an estate or cluster belongs there.
SECTORS: dict[str, str] = {
    "A": N_("Agriculture, forestry, fishing"),
    "B": N_("Mining and quarrying"),
    "C": N_("Manufacturing"),
    "D": N_("Electricity and gas supply"),
    "E": N_("Water, sewage and waste"),
    "F": N_("Construction"),
    "G": N_("Wholesale and retail trade"),
    "H": N_("Transport and storage"),
    "I": N_("Hotels and restaurants"),
    "J": N_("Information and communication"),
    "K": N_("Finance and insurance"),
    "L": N_("Real estate"),
    "M": N_("Professional and technical services"),
    "N": N_("Administrative and support services"),
    "P": N_("Education"),
    "Q": N_("Health and social work"),
    "R": N_("Arts, entertainment and recreation"),
    "S": N_("Other services"),
}


def is_sector(code: str) -> bool:
    return code in SECTORS

"""What a synthetic data set holds, decided before any row is written: the accounts with their follower
counts, and how many citizens live in each commune.

National figures (end of 2024): 17,273 official accounts of state agencies and utilities, 40.8M follows,
the largest account (Bộ Y tế) ~10M followers, i.e. about a quarter of all follows; the rest follow a
Zipf-like long tail by popularity (kind, reach and population).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from loa.domains.seed import names
from loa.domains.seed.places import Commune, Country, Province

NATIONAL_ACCOUNTS = 17_273
NATIONAL_FOLLOWS = 40_792_492
TOP_SHARE = 0.25  # of all follows, held by the largest account
FOLLOWS_PER_FOLLOWER = 2.5  # follows / citizens who follow (Bộ Y tế + their commune + a few more)
ZIPF_EXPONENT = 1.0
UNVERIFIED_SHARE = 0.02
PENDING_SHARE = 0.01

# Popularity of commune-level accounts before the population factor.
_COMMUNE_COMMITTEE_WEIGHT = 3.0
_COMMUNE_POLICE_WEIGHT = 2.0
_PROVINCIAL_COMMITTEE_WEIGHT = 60.0
_DEPARTMENT_WEIGHT = 12.0
_PROVINCIAL_OFFICE_WEIGHT = 5.0
_MINISTRY_WEIGHT = 1_000.0
_GOVERNMENT_OFFICE_WEIGHT = 600.0


@dataclass
class AccountSpec:
    name: str
    kind: str
    province_code: str
    commune_code: str | None
    scope: str  # "national" | "province" | "commune": whose citizens follow it
    weight: float  # popularity, orders the long tail
    organisation: str | None = None  # key of the organisation that runs it
    top: bool = False  # the one account with a quarter of all follows
    followers: int = 0


@dataclass
class Plan:
    scale: str
    accounts: list[AccountSpec]
    follows: int
    # citizens per commune, in the order their ids are laid out
    communes: list[tuple[Commune, int]] = field(default_factory=list)

    @property
    def users(self) -> int:
        return sum(count for _, count in self.communes)


def plan(country: Country, *, scale: str, fraction: float = 1.0, province: str = "01", seed: int = 2024) -> Plan:
    """The national plan scaled by `fraction` (follows and citizens; accounts are always all 17,273), or one
    province's share of it: its own accounts plus the national ones, its citizens, the same skew."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    rng = random.Random(seed)
    accounts = national_accounts(country, rng)
    if scale == "national":
        share, provinces = 1.0, list(country.provinces)
    elif scale == "province":
        chosen = country.province(province)
        share, provinces = chosen.population / country.population, [chosen]
        accounts = [a for a in accounts if a.scope == "national" or a.province_code == chosen.code]
    else:
        raise ValueError(f"unknown synthetic scale {scale!r}")
    follows = max(round(NATIONAL_FOLLOWS * share * fraction), len(accounts))
    users = max(math.ceil(follows / FOLLOWS_PER_FOLLOWER), 10)
    communes = _spread_citizens(provinces, users)
    result = Plan(scale, accounts, follows, communes)
    _assign_followers(result, random.Random(seed + 1))
    return result


# --- accounts ---------------------------------------------------------------------------------------


def national_accounts(country: Country, rng: random.Random) -> list[AccountSpec]:
    """All 17,273 accounts: national bodies, each province's, each commune's committee and police, and
    the remaining schools, clinics, utilities… spread over communes by population."""
    average_population = country.population / len(country.provinces)
    specs: list[AccountSpec] = []
    for index, name in enumerate(names.MINISTRIES):
        specs.append(AccountSpec(name, "ministry", "01", None, "national", _MINISTRY_WEIGHT / (1 + index),
                                 organisation="gov", top=index == 0))
    for name in names.GOVERNMENT_OFFICES:
        specs.append(AccountSpec(name, "government_office", "01", None, "national", _GOVERNMENT_OFFICE_WEIGHT,
                                 organisation="gov"))
    for province in country.provinces:
        specs.extend(_provincial_accounts(province, province.population / average_population))
    average_commune = country.population / sum(len(p.communes) for p in country.provinces)
    for province in country.provinces:
        for commune in province.communes:
            reach = province.population * commune.weight / average_commune
            specs.append(AccountSpec(f"UBND {commune.name}", "commune_committee", province.code, commune.code,
                                     "commune", _COMMUNE_COMMITTEE_WEIGHT * reach,
                                     organisation=f"ubnd-{province.code}"))
            specs.append(AccountSpec(f"Công an {_lower(commune)}", "police", province.code, commune.code,
                                     "commune", _COMMUNE_POLICE_WEIGHT * reach, organisation=f"ca-{province.code}"))
    remaining = NATIONAL_ACCOUNTS - len(specs)
    specs.extend(_commune_extras(country, max(remaining, 0), rng))
    for spec in specs:
        spec.weight *= rng.lognormvariate(0, 0.6)  # agencies alike on paper differ in reach
    return specs


def _provincial_accounts(province: Province, reach: float) -> list[AccountSpec]:
    values = {"p": province.short_name, "pl": province.lower_name}
    code = province.code
    specs = [AccountSpec(f"UBND {province.name}", "provincial_committee", code, None, "province",
                         _PROVINCIAL_COMMITTEE_WEIGHT * reach, organisation=f"ubnd-{code}")]
    for department in names.DEPARTMENTS:
        specs.append(AccountSpec(f"{department} {province.short_name}", "provincial_department", code, None,
                                 "province", _DEPARTMENT_WEIGHT * reach, organisation=f"ubnd-{code}"))
    for office in names.PROVINCIAL_OFFICES:
        specs.append(AccountSpec(f"{office} {province.lower_name}", "other_state", code, None, "province",
                                 _PROVINCIAL_OFFICE_WEIGHT * reach, organisation=f"ubnd-{code}"))
    for kind, template, weight in names.PROVINCIAL_UNITS:
        organisation = {"police": f"ca-{code}", "fatherland_front": f"mttq-{code}"}.get(kind)
        specs.append(AccountSpec(template.format(**values), kind, code, None, "province", weight * reach,
                                 organisation=organisation))
    return specs


def _lower(commune: Commune) -> str:
    return f"{commune.unit_type.lower()} {commune.short_name}" if commune.unit_type else commune.name


def _commune_extras(country: Country, count: int, rng: random.Random) -> list[AccountSpec]:
    communes = [(province, commune) for province in country.provinces for commune in province.communes]
    populations = [province.population * commune.weight for province, commune in communes]
    average = sum(populations) / len(populations)
    per_commune = _largest_remainder(populations, count)
    templates = names.COMMUNE_UNITS
    specs = []
    for (province, commune), population, wanted in zip(communes, populations, per_commune, strict=True):
        used: set[str] = set()
        reach = population / average
        values = {"c": commune.name, "cl": _lower(commune), "s": commune.short_name}
        for _ in range(wanted):
            open_ = [t for t in templates if t[3] or t[1] not in used]
            kind, template, _, _ = rng.choices(open_, weights=[t[2] for t in open_])[0]
            used.add(template)
            name = template.format(**values, f=rng.choice(names.FAMOUS))
            organisation = {"fatherland_front": f"mttq-{province.code}", "other_state": f"ubnd-{province.code}"}
            specs.append(AccountSpec(name, kind, province.code, commune.code, "commune", reach,
                                     organisation=organisation.get(kind)))
    return specs


# --- citizens and follower counts -------------------------------------------------------------------


def _spread_citizens(provinces: list[Province], users: int) -> list[tuple[Commune, int]]:
    communes = [commune for province in provinces for commune in province.communes]
    populations = [commune.weight * province.population for province in provinces for commune in province.communes]
    return list(zip(communes, _largest_remainder(populations, users), strict=True))


def _assign_followers(plan: Plan, rng: random.Random) -> None:
    """The top account gets TOP_SHARE of the follows; the others share the rest by Zipf rank of their
    popularity. Counts are capped by how many citizens can follow each one (then widened: commune →
    province → everyone), so that every count is loadable as distinct follows."""
    accounts = plan.accounts
    users = plan.users
    top = next((a for a in accounts if a.top), None)
    rest = sorted((a for a in accounts if a is not top), key=lambda a: -a.weight)
    remaining = plan.follows
    if top is not None:
        top.followers = min(round(plan.follows * TOP_SHARE), users)
        remaining -= top.followers
    shares = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(rest))]
    for account, count in zip(rest, _largest_remainder(shares, remaining), strict=True):
        account.followers = count
    # Pool sizes per scope, so that an account with more followers than its area has citizens takes
    # them from the wider area (the extra follows then come from outside, as they do in life).
    commune_sizes = {commune.code: size for commune, size in plan.communes}
    province_sizes: dict[str, int] = {}
    for commune, size in plan.communes:
        province_sizes[commune.province_code] = province_sizes.get(commune.province_code, 0) + size
    for account in accounts:
        if account.scope == "commune" and account.followers > commune_sizes.get(account.commune_code or "", 0):
            account.scope = "province"
        if account.scope == "province" and account.followers > province_sizes.get(account.province_code, 0):
            account.scope = "national"
        account.followers = min(account.followers, users)
    plan.follows = sum(account.followers for account in accounts)


def _largest_remainder(weights: list[float], total: int) -> list[int]:
    """Integers proportional to `weights` that add up to exactly `total`."""
    if not weights:
        return []
    scale = sum(weights)
    exact = [total * weight / scale for weight in weights]
    counts = [int(value) for value in exact]
    short = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts

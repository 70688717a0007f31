"""The ``observables`` stage: IOCs in the text (IPs, CIDRs, domains, URLs, e-mail addresses,
hashes — imphash and authentihash when the text names them so —, CVE and ATT&CK IDs, ASNs,
bitcoin addresses, file names, registry keys), including defanged forms, refanged and validated
by the model's value types.

It reads the cleaned text when ``normalize`` ran (zero-width characters can hide an IOC) and
maps every span back to the stored document. Values that the MISP warninglists know as
public infrastructure (top sites, cloud ranges, public resolvers, RFC 1918 …) are kept but
flagged: the object carries ``x_allsource_warninglists`` and the stored result counts them,
so later scoring can discount them.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.types import observable
from allsource.process.base import Stage, Work
from allsource.process.normalize import Cleaned
from allsource.process.observables import extract_observables
from allsource.process.warninglists import WarningLists, default_warninglists


class ObservablesStage(Stage):
    name: ClassVar[str] = "observables"
    # 2: defang, registry, IPv6-host and label forms; group/software/campaign ids left to the
    # entities stage (issue 9)
    # 3: tactic, mitigation and data-source ids keep their own STIX types
    # 4: what containers hold is its own observable too: a URL's host, an e-mail's domain, a
    # CIDR's host address, ATT&CK IDs in attack.mitre.org URLs, URLs inside a URL; e-mail
    # address literals
    # 5: "dot.com" and its kin in prose (the idiom) are no domain unless defanged
    version: ClassVar[str] = "5"
    description: ClassVar[str] = "IOC extraction with defanging and warninglist flags"
    requires: ClassVar[tuple[str, ...]] = ("normalize",)
    order: ClassVar[int] = 30

    def setup(self) -> None:
        self.warninglists: WarningLists = default_warninglists()

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "warninglists"):
            self.setup()
        for work in batch:
            cleaned = work.scratch.get("clean")
            text = cleaned.text if isinstance(cleaned, Cleaned) else work.full_text
            kinds: Counter[str] = Counter()
            flagged = 0
            for found in extract_observables(text):
                if found.type == "attack-id" and found.value[:1].upper() in _ENTITY_IDS:
                    continue  # a group's, software's or campaign's id: the entities stage's
                obj = observable(found.type, found.value)
                if obj is None:
                    continue
                lists = self.warninglists.check(found)
                if lists:
                    obj.stix["x_allsource_warninglists"] = sorted(lists)
                    flagged += 1
                start, end = (cleaned.to_original(found.start, found.end)
                              if isinstance(cleaned, Cleaned) else (found.start, found.end))
                work.add_object(obj, self.extractor, start, end)
                kinds[found.type] += 1
            work.annotations[self.name] = {"observables": sum(kinds.values()),
                                           "by_type": dict(sorted(kinds.items())),
                                           "warninglisted": flagged}


#: ATT&CK id prefixes of groups, software and campaigns: the entities stage resolves "G0007"
#: to APT28 itself, so the observables stage proposes no object of its own for them (it would
#: be a second APT28, typed as an attack pattern)
_ENTITY_IDS = frozenset("GSC")


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [ObservablesStage]

"""Print the figures of the last netif runs (build/reports/netif_*.json): bandwidth fractions,
retransmissions, timeouts, drops.  Usage: .venv/bin/python -m sim_tests.netif.report"""

import json
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[2] / "build" / "reports"


def main():
    rows = []
    for path in sorted(REPORTS.glob("netif_*.json")):
        r = json.loads(path.read_text())
        a, b = r["netif"]["a"], r["netif"]["b"]
        ab, ba = r["links"]["ab"], r["links"]["ba"]
        frac = r.get("fraction_of_link")
        rows.append((path.stem, r["messages"], r.get("cycles_to_deliver_all", r.get("cycles")),
                     "" if frac is None else f"{frac:.4f}",
                     "" if frac is None else f"{r['payload_fraction_of_link']:.4f}",
                     a["tx_retransmits"] + b["tx_retransmits"], a["tx_timeouts"] + b["tx_timeouts"],
                     a["naks_received"] + b["naks_received"], ab["lost"] + ba["lost"],
                     ab["corrupted"] + ba["corrupted"], a["rx_dup"] + b["rx_dup"],
                     a["tx_frames"] + b["tx_frames"]))
    head = ("run", "messages", "cycles", "link_frac", "payload_frac", "retransmits", "timeouts", "naks",
            "lost", "corrupted", "dup_dropped", "frames_sent")
    print(" | ".join(head))
    for row in rows:
        print(" | ".join(str(x) for x in row))


if __name__ == "__main__":
    main()

"""Matches tokbench samples to the requests captured on the loopback wire.

Usage: wire_ttft.py CAPTURE.pcap SAMPLES.jsonl SERVER_PORT

Reads a classic pcap (tcpdump -w, Ethernet link type as Linux gives `lo`),
splits each client connection into requests (a client segment starting with
"POST" opens one; client segments before the first response segment belong
to it), takes the request number from the prompt header "Request <hex>-",
and prints percentiles of:
  tokbench TTFT (first token event, µs since tokbench's send instant),
  wire TTFT (last request segment -> first segment carrying "content":"),
  tokbench TTFT minus wire TTFT (the client's own share),
  SYN -> last request segment (connect plus client scheduling; fresh
  connections only).
"""

import json
import re
import struct
import sys

REQ_ID = re.compile(rb"Request ([0-9a-f]+)-")
CONTENT = b'"content":"'


def packets(path):
    """Yields (time s, src port, dst port, tcp flags, payload)."""
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
        link = struct.unpack(endian + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(endian + "IIII", rec)
            data = f.read(incl)
            t = sec + frac / (1e9 if nano else 1e6)
            off = 14 if link == 1 else 16  # Ethernet, or Linux cooked
            if len(data) < off + 20 or data[off] >> 4 != 4:
                continue
            ihl = (data[off] & 0x0F) * 4
            total = struct.unpack(">H", data[off + 2 : off + 4])[0]
            tcp = off + ihl
            sport, dport = struct.unpack(">HH", data[tcp : tcp + 4])
            doff = (data[tcp + 12] >> 4) * 4
            flags = data[tcp + 13]
            payload_len = total - ihl - doff
            payload = data[tcp + doff : tcp + doff + max(payload_len, 0)]
            yield t, sport, dport, flags, payload, payload_len


def requests(path, server_port):
    """Per request id: dict(syn, last, content) wire times, s."""
    flows = {}
    out = {}
    for t, sport, dport, flags, payload, plen in packets(path):
        client = dport == server_port
        port = sport if client else dport
        flow = flows.setdefault(port, {"syn": None, "req": None, "first": True})
        if client and flags & 0x02 and not flags & 0x10:
            flow.update(syn=t, req=None, first=True)
            continue
        if plen <= 0:
            continue
        req = flow["req"]
        if client:
            if payload.startswith(b"POST"):
                req = {"start": t, "last": t, "id": None, "resp": None, "content": None}
                req["syn"] = flow["syn"] if flow["first"] else None
                flow["first"] = False
                flow["req"] = req
            elif req is None or req["resp"] is not None:
                continue
            req["last"] = t
            m = REQ_ID.search(payload)
            if m and req["id"] is None:
                req["id"] = int(m.group(1), 16)
                out[req["id"]] = req
        elif req is not None:
            req["resp"] = req["resp"] or t
            if req["content"] is None and CONTENT in payload:
                req["content"] = t
    return out


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def line(name, values):
    print(
        f"  {name:<34} n={len(values):<4} p50={pct(values, 0.5):8.2f}"
        f"  p99={pct(values, 0.99):8.2f}  max={max(values, default=float('nan')):8.2f} ms"
    )


def main():
    pcap, samples_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wire = requests(pcap, port)
    rows = []
    with open(samples_path) as f:
        for text in f:
            s = json.loads(text)
            if s.get("warmup") or not s.get("events"):
                continue
            w = wire.get(s["id"])
            if w is None or w["content"] is None:
                continue
            rows.append((s, w))
    tb = [s["events"][0]["t_us"] / 1000 for s, _ in rows]
    wt = [(w["content"] - w["last"]) * 1000 for _, w in rows]
    diff = [a - b for a, b in zip(tb, wt)]
    syn = [(w["last"] - w["syn"]) * 1000 for _, w in rows if w["syn"] is not None]
    conn = [s["connect_us"] / 1000 for s, _ in rows if s.get("connect_us") is not None]
    print(f"measured requests matched on the wire: {len(rows)}")
    line("tokbench TTFT", tb)
    line("wire TTFT", wt)
    line("tokbench TTFT - wire TTFT", diff)
    line("wire SYN -> last request byte", syn)
    if conn:
        line("tokbench connect_us", conn)


if __name__ == "__main__":
    main()

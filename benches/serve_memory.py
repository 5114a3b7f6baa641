#!/usr/bin/env python3
"""Resident memory of `lore serve` under 200 concurrent large queries.

Usage: python3 benches/serve_memory.py BINARY INDEX

Starts BINARY serve on INDEX (a free loopback port, no audit log), warms it with one search,
then sends 200 `POST /v1/search` at once (each from its own thread and connection, max_hits
100) twice: a 60 KB query, then a 4 KB one. Prints each round's statuses, its time, and the
server's resident size before, at peak (VmHWM) and after, from /proc/PID/status. Figures in
benches/RESULTS.md ("Hardening round").
"""
import socket, threading, subprocess, sys, time, json, os
binary, idx = sys.argv[1], sys.argv[2]
p = subprocess.Popen([binary, "serve", "--index", idx, "--addr", "127.0.0.1:0", "--no-audit"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
line = p.stdout.readline().decode().strip(); addr = line.split("http://")[1]; host, port = addr.split(":")
def post(body):
    s = socket.create_connection((host, int(port))); s.settimeout(300)
    b = json.dumps(body).encode()
    s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    out = b""
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
    return int(out.split()[1])
def mem():
    st = open(f"/proc/{p.pid}/status").read()
    f = lambda k: int([l for l in st.splitlines() if l.startswith(k)][0].split()[1])
    return f("VmRSS:"), f("VmHWM:")
post({"query": "warm up"})
r0 = mem()[0]
words = "billing reconciliation counsel threshold vendor renewal onboarding laptop".split()
for name, q in [("60 KB", "reconciliation " * 4000), ("4 KB", " ".join(words[i % 8] for i in range(1000))[:4000])]:
    res = []
    ts = [threading.Thread(target=lambda: res.append(post({"query": q, "max_hits": 100}))) for _ in range(200)]
    t = time.time(); [x.start() for x in ts]; [x.join() for x in ts]
    rss, hwm = mem()
    print(f"{name} x200: statuses {sorted(set(res))}, {time.time()-t:.1f}s, rss before {r0//1024} MB, peak {hwm//1024} MB, after {rss//1024} MB")
p.terminate(); p.wait()

"""Splits a CPU profile of the validator's event loop (BENCH_CPUPROF of bench/validator-latency.ts)
over the arrival of a burst: the samples from the end of the profiler's own start-up call for
WINDOW_S seconds, busy time (wall time of samples on the thread, OS preemption included) and its
parts: garbage collection, the loop decoding a body a second time (`fromRemote`, or since the head
comes back from the thread the rollouts' decoding on first read, `decode` in _prepareSubmit.ts),
`postMessage` to the threads. Usage: python3 bench/loop-profile.py PROFILE.cpuprofile WINDOW_S [...pairs]"""
import collections, json, sys


def split(path, window_s):
    p = json.load(open(path))
    nodes = {n["id"]: n for n in p["nodes"]}
    parent = {c: n["id"] for n in p["nodes"] for c in n.get("children", [])}
    samples, t = [], 0
    for s, d in zip(p["samples"], p["timeDeltas"]):
        t += d
        chain, j = [], s
        while j is not None:
            cf = nodes[j]["callFrame"]
            chain.append((cf["functionName"], cf["url"].split("/")[-1]))
            j = parent.get(j)
        samples.append((t, d, chain))
    t0 = 0  # the end of the profiler's start-up call, which precedes the burst
    for t, d, chain in samples:
        if ("post", "node:inspector") in chain:
            t0 = t
        elif t0 and t > t0 + 5000:
            break
    acc = collections.Counter()
    for t, d, chain in samples:
        if t <= t0 or t > t0 + window_s * 1e6:
            continue
        names = set(chain)
        if chain[0][0] == "(idle)":
            acc["idle_ms"] += d
            continue
        acc["busy_ms"] += d
        acc["gc_ms"] += d if chain[0][0] == "(garbage collector)" else 0
        again = ("fromRemote", "_prepareSubmit.ts") in names or ("decode", "_prepareSubmit.ts") in names
        acc["decode_again_ms"] += d if again else 0
        acc["post_message_ms"] += d if ("postMessage", "worker") in names else 0
    return {"profiler_startup_ms": round(t0 / 1000, 1), **{k: round(v / 1000, 1) for k, v in acc.items()}}


args = sys.argv[1:]
for path, w in zip(args[::2], args[1::2]):
    print(json.dumps({"profile": path, "window_s": float(w), **split(path, float(w))}))

#!/usr/bin/env python3
# intel-naive.py -- the property test's oracle: random prefixes and addresses,
# and what a naive scan over every prefix says of each address.
# usage: intel-naive.py SEED DIR  (writes DIR/feeds.conf, DIR/f*.txt,
#        DIR/queries and DIR/expected)
import ipaddress, random, sys

seed, d = int(sys.argv[1]), sys.argv[2]
rng = random.Random(seed)
feeds = {f"f{i}": [] for i in range(4)}
def rand_net(v6):
    if v6:
        a = ipaddress.IPv6Address(rng.getrandbits(128) | (0x2001 << 112))
        return ipaddress.ip_network(f"{a}/{rng.choice([32, 48, 64, 127, 128])}", strict=False)
    a = ipaddress.IPv4Address(rng.getrandbits(32))
    return ipaddress.ip_network(f"{a}/{rng.choice([8, 12, 16, 20, 24, 28, 31, 32])}", strict=False)
never = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "10.0.0.0/8",
    "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8")]
nets = []
for name in feeds:
    for _ in range(500):
        n = rand_net(rng.random() < 0.3)
        if any(n.version == x.version and n.overlaps(x) for x in never):
            continue
        feeds[name].append(n)
        nets.append((n, name))
with open(f"{d}/feeds.conf", "w") as c:
    for i, name in enumerate(feeds):
        c.write(f"cat{i % 3} f{i}.txt {name}\n")
        with open(f"{d}/f{i}.txt", "w") as f:
            f.write("# random prefixes\n")
            for n in feeds[name]:
                f.write(f"{n}\n")
queries = []
for n, _ in rng.sample(nets, 400):	# the edges of prefixes
    lo, hi = int(n.network_address), int(n.broadcast_address)
    top = 2**32 - 1 if n.version == 4 else 2**128 - 1
    for x in (lo - 1, lo, hi, hi + 1):
        if 0 <= x <= top:
            queries.append(ipaddress.ip_address(x) if n.version == 4 else ipaddress.IPv6Address(x))
for _ in range(3000):			# and anywhere
    queries.append(ipaddress.IPv4Address(rng.getrandbits(32)))
with open(f"{d}/queries", "w") as q, open(f"{d}/expected", "w") as e:
    e.write("addr,intel,feeds\n")
    order = list(feeds)
    for a in queries:
        if any(a in x for x in never if x.version == a.version):
            hit = []
        else:
            hit = sorted({name for n, name in nets if n.version == a.version and a in n}, key=order.index)
        cats = sorted({f"cat{order.index(h) % 3}" for h in hit}, key=lambda c: [f"cat{i % 3}" for i in range(4)].index(c))
        q.write(f"{a}\n")
        e.write(f"{a},{';'.join(cats)},{';'.join(hit)}\n")

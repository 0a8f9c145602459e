#!/usr/bin/env python3
"""Generates a bank-account event history as JSON lines for `archiver append` (stdin batch mode).

Each line: {"stream": "account-<n>", "type": ..., "data": {...}}. Accounts are opened first, then receive
deposits, withdrawals (never below zero) and the occasional address change; deterministic for a seed.

    python3 examples/bank/generate.py --events 100000 --accounts 2000 --seed 1 | archiver append
"""
import argparse
import json
import random
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--accounts", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--first-account", type=int, default=1, help="number of the first account to open")
    p.add_argument("--skip-open", action="store_true", help="accounts exist already: do not open them")
    args = p.parse_args()
    rng = random.Random(args.seed)
    owners = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Leslie", "Frances", "Tony", "Margaret"]
    cities = ["Zürich", "Lyon", "Porto", "Kraków", "Leeds", "Turku", "Gent", "Brno"]
    balances = {}
    out = sys.stdout
    written = 0
    accounts = list(range(args.first_account, args.first_account + args.accounts))
    if not args.skip_open:
        for n in accounts:
            if written >= args.events:
                break
            data = {"owner": rng.choice(owners) + f" #{n}", "currency": "EUR", "balance": 0,
                    "city": rng.choice(cities)}
            out.write(json.dumps({"stream": f"account-{n}", "type": "AccountOpened", "data": data},
                                 ensure_ascii=False) + "\n")
            balances[n] = 0
            written += 1
    else:
        balances = {n: 1_000_000 for n in accounts}
    while written < args.events:
        n = rng.choice(accounts)
        roll = rng.random()
        if roll < 0.6:
            amount = rng.randint(1, 500_00) / 100
            balances[n] = round(balances[n] + amount, 2)
            event = {"type": "MoneyDeposited", "data": {"amount": amount, "balance": balances[n],
                     "reference": f"dep-{rng.getrandbits(48):012x}"}}
        elif roll < 0.95:
            amount = min(balances[n], rng.randint(1, 300_00) / 100)
            balances[n] = round(balances[n] - amount, 2)
            event = {"type": "MoneyWithdrawn", "data": {"amount": -amount, "balance": balances[n],
                     "reference": f"wd-{rng.getrandbits(48):012x}"}}
        else:
            event = {"type": "AddressChanged", "data": {"city": rng.choice(cities)}}
        event["stream"] = f"account-{n}"
        event["metadata"] = {"correlation_id": f"{rng.getrandbits(64):016x}", "actor": "teller"}
        out.write(json.dumps(event, ensure_ascii=False) + "\n")
        written += 1


if __name__ == "__main__":
    main()

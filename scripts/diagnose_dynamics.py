"""Trace the households of a territory run and print the measures of issue 14 (credible dynamics).

    python scripts/diagnose_dynamics.py [configs/scenarios/baseline.yaml] [--territory aix-marseille-provence] [--years 10]

Prints, from the dataset and the trajectory log of one run: street stock and street stays, what
ends street stays, 115 admissions and unmet requests, persons sheltered per night, social lettings
to homeless households by origin, the share of regular status in shelters (households present at
the end of each year), families on the street against arrivals, support slots that rotate, the
revolving door (back in a 115 shelter within a day of leaving one for the street) and the median
wait for social housing by year.
"""

from __future__ import annotations

import argparse

import numpy as np

from lda_sim import HousingModel, load_scenario
from lda_sim.dataset.trajectories import spells, trajectory_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="configs/scenarios/baseline.yaml")
    parser.add_argument("--territory", default="aix-marseille-provence")
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario, years=args.years, seed=args.seed)
    model = HousingModel(scenario, trajectories=True)
    ti = [t.name for t in scenario.territories].index(args.territory)
    territory = model.territories[ti]
    status_share: list[tuple[int, dict[str, float]]] = []
    for year in range(args.years):
        model.run_years(1)
        row = {}
        for name in ("emergency_shelter", "hotel", "insertion_shelter"):
            hh = model.households(state=name, territory=territory.name)
            persons = sum(h.persons for h in hh)
            row[name] = sum(h.persons for h in hh if h.regular_status) / persons if persons else float("nan")
        status_share.append((year + 1, row))
    ds = model.dataset()
    table = trajectory_table(model)
    table = table[table["territory"] == args.territory]
    sp = spells(table, horizon_days=model.horizon)

    d = ds.sel(territory=args.territory)
    last = slice(-12, None)
    street = d["occupancy_persons"].sel(state="street").values
    print(f"== {args.scenario}, {args.territory}, {args.years} years, seed {scenario.seed}")
    print(f"street persons at month ends: start {int(d['initial_occupancy_persons'].sel(state='street'))}, months 1-3 {street[:3].tolist()}, "
          f"last-12-month mean {street[last].mean():.0f}")
    sheltered = sum(d["occupancy_persons"].sel(state=s).values for s in ("emergency_shelter", "hotel", "insertion_shelter"))
    print(f"persons sheltered (emergency + hotel + CHRS) at month ends, last 12 months: {sheltered[last].mean():.0f}")
    sp = sp.sort_values(["household_id", "spell"])
    sp["next_state"] = sp.groupby("household_id")["state"].shift(-1)
    on_street = sp[(sp["state"] == "street") & ~sp["censored"]]
    days = on_street["duration_days"].to_numpy()
    if len(days):
        print(f"street stays ended: {len(days)}, median {np.median(days):.1f} d, p90 {np.quantile(days, 0.9):.1f} d")
        print("  ended by:", {k: round(v, 3) for k, v in on_street["next_state"].value_counts(normalize=True).items() if v > 0.005})
    flow = d["flow"]
    years = args.years

    def per_year(origin: str, target: str) -> float:
        key = f"{origin}->{target}"
        return float(flow.sel(transition=key).sum()) / years if key in flow["transition"].values else 0.0

    admissions = sum(per_year("street", s) for s in ("emergency_shelter", "hotel"))
    print(f"street -> 115 shelters: {admissions:.0f} households a year")
    if "requests_115" in d:
        req, unmet = float(d["requests_115"][last].sum()), float(d["requests_115_unmet"][last].sum())
        print(f"115 requests, last 12 months: {req:.0f}, unmet {unmet:.0f} ({unmet / req if req else float('nan'):.2f})")
    lettings = {o: float(flow.sel(transition=f"{o}->social_housing").isel(time=slice(24, None)).sum())
                for o in ("street", "emergency_shelter", "hotel", "insertion_shelter", "residence_sociale", "iml_sublease")
                if f"{o}->social_housing" in flow["transition"].values}
    total = sum(lettings.values())
    print("social lettings to homeless households from year 3, by origin (share): "
          + ", ".join(f"{o} {v / total:.2f}" for o, v in lettings.items()) + f"; {total / max(years - 2, 1):.0f} a year")
    print("share of persons with a regular status, end of each year:")
    for year, row in status_share:
        print(f"  year {year}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    arrivals = table[table["event"] == "entry"]
    fam = float(arrivals["kind"].eq("family").mean()) if len(arrivals) else float("nan")
    on_street_end = model.households(state="street", territory=args.territory)
    fam_street = float(np.mean([h.kind == "family" for h in on_street_end])) if on_street_end else float("nan")
    print(f"families: {fam:.2f} of arrivals, {fam_street:.2f} of street households at the end")
    if "support_started" in d:
        print(f"support slots started per year: {float(d['support_started'].sum()) / years:.0f}; used at the end {int(d['support_used'][-1])}")
    # revolving door: a 115 shelter -> street, then street -> a 115 shelter within a day
    moves = table[table["event"].isin(["move", "exit"])].sort_values(["household_id", "seq"])
    nxt = moves.groupby("household_id")[["to_state", "time_days"]].shift(-1)
    left = (moves["to_state"] == "street") & moves["from_state"].isin(["emergency_shelter", "hotel"])
    back = int((left & nxt["to_state"].isin(["emergency_shelter", "hotel"]) & (nxt["time_days"] - moves["time_days"] < 1.0)).sum())
    n_left = int(left.sum())
    print(f"revolving door: {back} of {n_left} exits from a 115 shelter to the street back in one within a day "
          f"({back / n_left if n_left else float('nan'):.2f})")
    waits = d["wait_days"].sel(statistic="median", state="social_housing").values
    by_year = [float(np.nanmean(waits[12 * y: 12 * (y + 1)])) for y in range(years)]
    print("median wait for social housing by year (days):", [round(w) for w in by_year])


if __name__ == "__main__":
    main()

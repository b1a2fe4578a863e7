"""lda_sim: an agent-based planning simulator for France's Logement d'abord (Housing First) policy.

Households move through the street, shelters and housing of each territory; a run projects the
stocks, flows and waiting times per territory and month as an ``xarray.Dataset``. The command
line (``lda-sim run``) and this API give the same dataset for the same scenario and seed.

```python
import lda_sim

scenario = lda_sim.load_scenario("configs/scenarios/baseline.yaml", years=3, seed=1)
ds = lda_sim.run_scenario(scenario)                # or HousingModel(scenario).run()
ds.occupancy_persons.sel(territory="aix-marseille-provence", state="street")
lda_sim.save_dataset(ds, "results/baseline.nc")    # lda_sim.open_results(...) reads it back
```

The public names, importable from ``lda_sim`` (loaded on first use, so ``import lda_sim`` stays
quick):

- scenarios and runs: `load_scenario`, `Scenario`, `HousingModel`, `run_scenario`,
  `run_scenarios` (several scenarios, common random numbers, a ``scenario`` dimension),
  `combine_scenarios` (datasets of runs already made, stacked the same way);
- ensembles on Dask: `plan_runs`, `run_ensemble`, `replicate_seeds`, `summarise_replicates`,
  `RunSpec`;
- results: `save_dataset`, `open_results`, `summary_table`, `comparison_table`;
- trajectories: `run_trajectories`, `trajectory_table`, `save_trajectories`
  (module `lda_sim.dataset.trajectories`);
- extension points: `Household` (subclass it, e.g. `Household.accepts_offer`, and name it in a
  scenario as ``household: module:Class``), `Policy` (subclass it and name it as a policy
  ``type: module:Class``), priority rules (a function ``(household, target_state) -> sort key``,
  named in ``allocation.rule`` as ``module:function``; built-in ones in `PRIORITY_RULES`), and new
  states in a pathway file. `ConfigError` is raised for any bad input, naming the file and field.

Worked examples of each extension are in ``examples/extensions.py`` and the notebooks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_EXPORTS: dict[str, str] = {
    "load_scenario": "lda_sim.config.scenario",
    "Scenario": "lda_sim.config.scenario",
    "HousingModel": "lda_sim.engine.model",
    "run_scenario": "lda_sim.analysis.run",
    "run_scenarios": "lda_sim.analysis.run",
    "combine_scenarios": "lda_sim.analysis.run",
    "Household": "lda_sim.engine.households",
    "Policy": "lda_sim.engine.policies",
    "PRIORITY_RULES": "lda_sim.engine.allocation",
    "ConfigError": "lda_sim.config.errors",
    "plan_runs": "lda_sim.analysis.ensemble",
    "run_ensemble": "lda_sim.analysis.ensemble",
    "replicate_seeds": "lda_sim.analysis.ensemble",
    "summarise_replicates": "lda_sim.analysis.ensemble",
    "RunSpec": "lda_sim.analysis.ensemble",
    "save_dataset": "lda_sim.dataset.output",
    "open_results": "lda_sim.dataset.output",
    "summary_table": "lda_sim.analysis.indicators",
    "comparison_table": "lda_sim.analysis.compare",
    "run_trajectories": "lda_sim.dataset.trajectories",
    "trajectory_table": "lda_sim.dataset.trajectories",
    "save_trajectories": "lda_sim.dataset.trajectories",
}

__all__ = [
    "__version__",
    "load_scenario", "Scenario", "HousingModel", "run_scenario", "run_scenarios", "combine_scenarios",
    "Household", "Policy", "PRIORITY_RULES", "ConfigError",
    "plan_runs", "run_ensemble", "replicate_seeds", "summarise_replicates", "RunSpec",
    "save_dataset", "open_results", "summary_table", "comparison_table",
    "run_trajectories", "trajectory_table", "save_trajectories",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lda_sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .analysis.compare import comparison_table
    from .analysis.ensemble import RunSpec, plan_runs, replicate_seeds, run_ensemble, summarise_replicates
    from .analysis.indicators import summary_table
    from .analysis.run import combine_scenarios, run_scenario, run_scenarios
    from .config.errors import ConfigError
    from .config.scenario import Scenario, load_scenario
    from .dataset.output import open_results, save_dataset
    from .dataset.trajectories import run_trajectories, save_trajectories, trajectory_table
    from .engine.allocation import PRIORITY_RULES
    from .engine.households import Household
    from .engine.model import HousingModel
    from .engine.policies import Policy

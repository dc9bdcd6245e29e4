"""The mixed-precision search on a model whose cost per layer is known: it finds the fewest float layers that meet
the budget, ranks by the probes, and refuses in one line (naming the layers and the best drop) when no mix can."""

from __future__ import annotations

import pytest

from pngan.errors import PnganError
from pngan.export.mixed import search_mixed
from pngan.runtimes.val_sets import FolderDrop

COST = {"conv1": 0.05, "conv2": 0.40, "add1": 0.02, "conv3": 0.25, "shuffle": 0.01, "conv4": 0.10}  # dB each


class _Meter:
    """Two folders; ``b`` loses the sum of the costs of the layers ``run`` quantizes (plus a floor), ``a`` half."""

    def __call__(self, run):
        lost = run()
        return [FolderDrop("a", 1, 20.0, 30.0, 30.0 - lost / 2, 20.0),
                FolderDrop("b", 1, 5.0, 35.0, 35.0 - lost, 30.0)]

    def subset(self):
        return self


def _search(budget, floor=0.0):
    built = []

    def build(float_layers):
        built.append(list(float_layers))
        lost = floor + sum(c for k, c in COST.items() if k not in float_layers)
        return tuple(float_layers), lambda: lost

    def probe(model, bypassed):
        lost = floor + sum(c for k, c in COST.items() if k not in bypassed)
        return lambda: lost

    model, res = search_mixed(lambda _m: list(COST), build, probe, _Meter(), budget)
    return model, res, built


def test_fewest_layers_that_meet_the_budget():
    model, res, built = _search(0.2)  # all INT8 loses 0.83: conv2 + conv3 in float leave 0.18
    assert set(res.float_layers) == {"conv2", "conv3"} and set(model) == {"conv2", "conv3"}
    assert res.all_int8_drop == pytest.approx(0.83) and res.sensitivity["conv2"] == pytest.approx(0.40)
    assert -min(d.delta_db for d in res.drops) <= 0.2 and res.drops[1].name == "b"
    assert built[0] == [] and len(built) <= 1 + 2 * 3  # doubling then bisection, not one build per k
    j = res.to_json(0.2)
    assert j["float_layers"] == res.float_layers and j["worst_folder"] == "b" and j["quantizable_layers"] == 6


def test_no_float_layer_when_int8_already_meets_it():
    _, res, built = _search(1.0)
    assert res.float_layers == [] and built == [[]] and res.sensitivity == {}


def test_a_budget_no_mix_meets_is_one_line_with_the_best_drop():
    with pytest.raises(PnganError) as e:
        _search(0.05, floor=0.3)  # 0.3 dB stays even with every layer in float
    msg = str(e.value)
    assert "\n" not in msg and "no mix meets --max-drop 0.05 dB" in msg and "the 6 layers" in msg
    assert "conv2" in msg and "0.300 dB with 6 in float" in msg

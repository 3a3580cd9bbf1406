"""IndexTransform / OutputIndexMap: construction, str, JSON, composition, call, pickle (checked against tensorstore)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tensortrio as ts
from tensortrio.errors import InvalidArgumentError, OutOfRangeError

EXAMPLE_STR = """\
Rank 2 -> 3 index space transform:
  Input domain:
    0: [0, 3) "x"
    1: [0, 2) "y"
  Output index maps:
    out[0] = 7 + 1 * in[1]
    out[1] = 2 + -1 * bounded((-inf, +inf), array(in)), where array =
      {{1, 2}}
    out[2] = 8
"""


def example() -> ts.IndexTransform:
    return ts.IndexTransform(
        input_shape=[3, 2],
        input_labels=["x", "y"],
        output=[
            ts.OutputIndexMap(offset=7, input_dimension=1),
            ts.OutputIndexMap([[1, 2]], offset=2, stride=-1),
            ts.OutputIndexMap(8),
        ],
    )


def test_str_repr_and_output_maps() -> None:
    t = example()
    assert str(t) == repr(t) == EXAMPLE_STR
    assert repr(t.output) == (
        "[OutputIndexMap(offset=7, stride=1, input_dimension=1), OutputIndexMap(offset=2, stride=-1, "
        "index_array={{1, 2}}, index_range=(-inf, +inf)), OutputIndexMap(offset=8)]"
    )
    m = t.output[1]
    assert m.method is ts.OutputIndexMethod.array
    assert m.index_array.shape == (1, 2)
    assert not m.index_array.flags.writeable
    assert t.output[0].index_array is None
    assert t.output[2].input_dimension is None
    assert repr(t.output[0].method) == "<OutputIndexMethod.single_input_dimension: 1>"
    assert t.index_array_broadcast(1).strides == (0, 8)
    assert str(ts.IndexTransform(0)) == "Rank 0 -> 0 index space transform:\n  Input domain:\n  Output index maps:\n"


def test_identity_and_accessors() -> None:
    t = ts.IndexTransform(input_inclusive_min=[1, 2, 3], input_shape=[3, 4, 5], input_labels=["x", "y", "z"])
    assert t.input_rank == t.output_rank == t.ndim == 3
    assert t.input_origin == t.origin == (1, 2, 3)
    assert t.input_exclusive_max == (4, 6, 8)
    assert t.input_inclusive_max == (3, 5, 7)
    assert t.input_shape == t.shape == (3, 4, 5)
    assert t.size == 60
    assert t.input_labels == ("x", "y", "z")
    assert str(t.domain) == '{ "x": [1, 4), "y": [2, 6), "z": [3, 8) }'
    assert ts.IndexTransform(input_rank=3).implicit_lower_bounds == (True, True, True)
    assert t.output == [ts.OutputIndexMap(input_dimension=i) for i in range(3)]
    assert ts.IndexTransform(t.domain) == t


def test_normalization() -> None:
    t = ts.IndexTransform(input_shape=[0, 1], output=[ts.OutputIndexMap([[1]], offset=3, stride=2)])
    assert t.output[0] == ts.OutputIndexMap(0)
    t = ts.IndexTransform(input_shape=[2], output=[ts.OutputIndexMap(input_dimension=0, stride=0, offset=3)])
    assert t.output[0] == ts.OutputIndexMap(3)
    full = ts.IndexTransform(input_shape=[2, 3], output=[ts.OutputIndexMap([[1, 2, 3], [1, 2, 3]])])
    assert ts.IndexTransform(input_shape=[2, 3], output=[ts.OutputIndexMap([[1, 2, 3]])]) == full


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": [3], "output": [ts.OutputIndexMap([[1, 2]])]}, r"^Index array for output dimension 0 has rank 2 but must have rank 1$"),
        ({"input_shape": [3], "output": [ts.OutputIndexMap([1, 2])]}, r"^Index array for output dimension 0 has shape \{2\} which does not match input_shape \{3\}$"),
        ({"input_shape": [3], "output": [ts.OutputIndexMap(input_dimension=3)]}, r"^Input dimension 3 specified for output dimension 0 is outside valid range \[0, 1\)$"),
        ({"input_shape": [2, 3], "implicit_upper_bounds": [True, True], "output": [ts.OutputIndexMap([[1], [2]])]}, r"^Index array for output dimension 0 depends on input dimension 0 with implicit bounds$"),
        ({"input_rank": 3, "input_shape": [2, 3]}, r"^Rank specified by `input_shape` \(2\) does not match rank specified by `input_rank` \(3\)$"),
        ({}, r"^Must specify `input_rank`$"),
        ({"input_rank": 33}, r"^Invalid input_rank: 33$"),
    ],
)
def test_invalid(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ts.IndexTransform(**kwargs)


def test_json_round_trip() -> None:
    t = example()
    assert t.to_json() == {
        "input_exclusive_max": [3, 2], "input_inclusive_min": [0, 0], "input_labels": ["x", "y"],
        "output": [{"input_dimension": 1, "offset": 7}, {"index_array": [[1, 2]], "offset": 2, "stride": -1}, {"offset": 8}],
    }
    assert ts.IndexTransform(json=t.to_json()) == t
    assert ts.IndexTransform(2).to_json() == {"input_rank": 2}
    assert ts.IndexTransform(input_shape=[2, 3]).to_json() == {"input_exclusive_max": [2, 3], "input_inclusive_min": [0, 0]}
    bounded = ts.IndexTransform(input_shape=[2], output=[ts.OutputIndexMap(index_array=[1, 7], index_range=ts.Dim(0, 2))])
    assert bounded.to_json()["output"] == [{"index_array": [1, 7], "index_array_bounds": [0, 1]}]
    redundant = ts.IndexTransform(input_shape=[2], output=[ts.OutputIndexMap(index_array=[1, 2], index_range=ts.Dim(0, 6))])
    assert redundant.to_json()["output"] == [{"index_array": [1, 2]}]
    parsed = ts.IndexTransform(json={
        "input_inclusive_min": ["-inf", 7, ["-inf"], [8]], "input_exclusive_max": ["+inf", 11, ["+inf"], [17]],
        "input_labels": ["x", "y", "z", ""],
        "output": [{"offset": 3}, {"stride": 2, "input_dimension": 2}, {"offset": 7, "index_array": [[[[1]], [[2]], [[3]], [[4]]]], "index_array_bounds": [1, 4]}],
    })
    assert str(parsed).splitlines()[2:6] == ['    0: (-inf, +inf) "x"', '    1: [7, 11) "y"', '    2: (-inf*, +inf*) "z"', "    3: [8*, 17*)"]
    assert str(parsed).splitlines()[-2] == "    out[2] = 7 + 1 * bounded([1, 5), array(in)), where array ="


@pytest.mark.parametrize(
    ("json", "message"),
    [
        ({}, r'At least one of "input_rank", "input_inclusive_min", "input_shape", "input_inclusive_max", "input_exclusive_max", "input_labels" members must be specified$'),
        ({"input_rank": 2, "output": [{"input_dimension": 2}]}, r"Input dimension 2 specified for output dimension 0 is outside valid range \[0, 2\)$"),
        ({"input_shape": [2], "output": [{"index_array": [1, 2], "input_dimension": 0}]}, r'Error parsing object member "output": Error parsing value at position 0: At most one of "input_dimension", "index_array" members is allowed$'),
        ({"input_rank": 1, "output": [{"offset": "x"}]}, r'Error parsing object member "output": Error parsing value at position 0: Error parsing object member "offset": Expected 64-bit signed integer, but received: "x"$'),
        ({"input_rank": 1, "output": [{"stride": 2}]}, r'Error parsing object member "stride": Either "input_dimension" or "index_array" must be specified in conjunction with "stride"$'),
        ({"input_shape": [2, 3], "output": [{"offset": 1, "bad": 1}]}, r'Object includes extra members: "bad"$'),
    ],
)
def test_json_errors(json: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^Error parsing index transform from JSON: .*" + message):
        ts.IndexTransform(json=json)


def test_call() -> None:
    t = example()
    assert t([1, 0]) == (7, 1, 8)
    with pytest.raises(InvalidArgumentError, match=r"^OUT_OF_RANGE: Index 5 is not contained in the domain \[0, 2\) for input dimension 1$"):
        t([1, 5])
    with pytest.raises(InvalidArgumentError, match=r"^input indices vector of length 1 cannot be used with index transform with input rank 2$"):
        t([1])
    bounded = ts.IndexTransform(input_shape=[2], output=[ts.OutputIndexMap(index_array=[1, 7], index_range=ts.Dim(0, 2))])
    with pytest.raises(InvalidArgumentError, match=r"Index 7 is outside valid range \[0, 2\)$"):
        bounded([1])
    t = ts.IndexTransform(input_shape=[5], output=[ts.OutputIndexMap(index_array=[2, 3, 5, 7, 11])])
    assert [t([i]) for i in range(5)] == [(2,), (3,), (5,), (7,), (11,)]


def test_compose() -> None:
    a = ts.IndexTransform(input_rank=1, output=[ts.OutputIndexMap(input_dimension=0, offset=5)])
    b = ts.IndexTransform(input_rank=1, output=[ts.OutputIndexMap(input_dimension=0, offset=3)])
    assert a[b].output[0] == ts.OutputIndexMap(input_dimension=0, offset=8)
    arr = ts.IndexTransform(input_shape=[5], output=[ts.OutputIndexMap([1, 7, 2, 3, 4], offset=1)])
    assert arr[ts.IndexTransform(input_shape=[3], output=[ts.OutputIndexMap([1, 4, 2])])].output[0] == ts.OutputIndexMap([7, 4, 2], offset=1)
    assert arr[ts.IndexTransform(input_shape=[3], output=[ts.OutputIndexMap(3)])].output[0] == ts.OutputIndexMap(4)
    narrowed = ts.IndexTransform(input_shape=[5])[ts.IndexTransform(input_shape=[3], output=[ts.OutputIndexMap([1, 7, 2])])]
    assert narrowed.output[0].index_range == ts.Dim(0, 5)
    with pytest.raises(OutOfRangeError, match=r"^Propagated bounds \[0, 5\), with size=5, for dimension 0 are incompatible with existing bounds \[0, 10\), with size=10\.$"):
        ts.IndexTransform(input_shape=[5])[ts.IndexTransform(input_shape=[10])]
    with pytest.raises(OutOfRangeError, match=r"^Checking bounds of constant output index map for dimension 0: Index 7 is outside valid range \[0, 5\)$"):
        ts.IndexTransform(input_shape=[5])[ts.IndexTransform(input_shape=[3], output=[ts.OutputIndexMap(7)])]
    with pytest.raises(OutOfRangeError, match=r"^Rank 2 -> 1 transform cannot be composed with rank 1 -> 1 transform\.$"):
        ts.IndexTransform(input_shape=[5, 2], output=[ts.OutputIndexMap(input_dimension=0)])[ts.IndexTransform(input_shape=[3])]


@pytest.mark.parametrize(
    ("b", "a", "stride", "expected"),
    [
        (ts.Dim(0, 5, implicit_lower=True), ts.Dim(), -1, "[-4, 1*)"),
        (ts.Dim(0, 5, implicit_lower=True), ts.Dim(1, 3, implicit_upper=True), 1, "[1, 5)"),
        (ts.Dim(0, 5, implicit_lower=True), ts.Dim(-3, 3, implicit_lower=True), 1, "[0*, 3)"),
        (ts.Dim(0, 5, implicit_upper=True), ts.Dim(2, 8), 1, "[2, 8)"),
        (ts.Dim(0, 5), ts.Dim(1, 3, implicit_upper=True), -1, "[1, 1)"),
    ],
)
def test_bounds_propagation(b: ts.Dim, a: ts.Dim, stride: int, expected: str) -> None:
    result = ts.IndexTransform([b])[ts.IndexTransform([a], output=[ts.OutputIndexMap(input_dimension=0, stride=stride)])]
    assert result.domain[0].bounds_str() == expected


def test_transpose_and_pickle() -> None:
    t = ts.IndexTransform(input_shape=[2, 3], output=[ts.OutputIndexMap(index_array=[[1, 2, 3], [4, 5, 6]], offset=-3, stride=2)])
    assert t.T.output[0].index_array.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert ts.IndexTransform(3).T.output[0] == ts.OutputIndexMap(input_dimension=2)
    assert pickle.loads(pickle.dumps(t)) == t
    m = ts.OutputIndexMap(index_array=np.arange(3), index_range=ts.Dim(0, 3))
    assert pickle.loads(pickle.dumps(m)) == m


def test_output_index_map_forms() -> None:
    assert repr(ts.OutputIndexMap(8)) == "OutputIndexMap(offset=8)"
    assert repr(ts.OutputIndexMap(1, 2)) == "OutputIndexMap(offset=2, stride=1, input_dimension=1)"
    assert repr(ts.OutputIndexMap(1, 2, 3)) == "OutputIndexMap(offset=2, stride=3, input_dimension=1)"
    assert repr(ts.OutputIndexMap(input_dimension=2)) == "OutputIndexMap(offset=0, stride=1, input_dimension=2)"
    m = ts.OutputIndexMap(index_array=[1, 2], index_range=ts.Dim(inclusive_min=1, exclusive_max=4, label="x"))
    assert repr(m) == "OutputIndexMap(offset=0, stride=1, index_array={1, 2}, index_range=[1, 4))"
    assert repr(ts.OutputIndexMap([[1, 2]]).index_range) == "Dim(implicit_lower=False, implicit_upper=False)"
    assert ts.OutputIndexMap([[1, 2]]) != ts.OutputIndexMap([1, 2])
    assert ts.OutputIndexMap(5).method is ts.OutputIndexMethod.constant
    assert ts.OutputIndexMap(5).stride is None
    assert ts.OutputIndexMap(5).index_range is None
    in_transform = ts.IndexTransform(input_shape=[2], output=[m]).output[0]
    assert repr(in_transform.index_range) == "Dim(inclusive_min=1, exclusive_max=4)"  # label dropped
    with pytest.raises(InvalidArgumentError, match=r"^index_array must contain integers, got dtype <U1$"):
        ts.OutputIndexMap(index_array=["a"])


def test_output_index_maps_sequence() -> None:
    maps = example().output
    assert maps.rank == len(maps) == 3
    assert maps[-1] == ts.OutputIndexMap(8)
    assert maps[1:] == [maps[1], maps[2]]
    with pytest.raises(IndexError, match=r"^Index 3 is outside valid range \[-3, 3\)$"):
        maps[3]
    rebuilt = ts.IndexTransform(example().domain, maps)
    assert rebuilt == example()


def test_dim_expression_shortcuts() -> None:
    d = ts.IndexDomain(shape=[2, 3], labels=["a", "b"])
    assert str(d.translate_to[1]) == '{ "a": [1, 3), "b": [1, 4) }'
    assert str(d.label["x", "y"]) == '{ "x": [0, 2), "y": [0, 3) }'
    assert str(d.mark_bounds_implicit[True:]) == '{ "a": [0*, 2), "b": [0*, 3) }'
    t = ts.IndexTransform(input_shape=[2, 3]).translate_by[1, 2]
    assert t.output == [ts.OutputIndexMap(input_dimension=0, offset=-1), ts.OutputIndexMap(input_dimension=1, offset=-2)]
    assert t([1, 2]) == (0, 0)
    assert str(ts.IndexTransform(input_shape=[2]).translate_backward_by[1].domain) == "{ [-1, 1) }"

"""Cases where tensortrio once disagreed with tensorstore 0.1.86, pinned with literal results.

Each test states the result tensorstore gives (checked here against the real package
too, so a test cannot drift from it) and requires tensortrio to give the same.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tensortrio as ts

tensorstore = pytest.importorskip("tensorstore")

BOTH = pytest.mark.parametrize("module", [ts, tensorstore], ids=["tensortrio", "tensorstore"])


@BOTH
def test_stride_to_explicitly_empty_domain_makes_index_array_map_constant_zero(module: Any) -> None:
    # [1, 2) strided by 2 is the explicitly empty [1, 1): the index array holds no
    # element, so its map becomes the constant 0 (not the array's only value).
    t = module.IndexTransform(
        input_inclusive_min=[1], input_exclusive_max=[2],
        output=[module.OutputIndexMap(index_array=np.array([1]), offset=0)],
    )
    assert t[module.d[0].stride[2]].to_json() == {
        "input_inclusive_min": [1], "input_exclusive_max": [1], "output": [{}],
    }
    assert t[module.d[0].stride[-2]].to_json() == {
        "input_inclusive_min": [0], "input_exclusive_max": [0], "output": [{}],
    }


@BOTH
@pytest.mark.parametrize(("stride", "expected"), [(2, "{ (-inf, +inf*) }"), (-2, "{ (-inf*, +inf) }")])
def test_negative_stride_swaps_implicit_flags_of_unbounded_dimension(
    module: Any, stride: int, expected: str
) -> None:
    t = module.IndexTransform(
        input_inclusive_min=[-module.inf], input_exclusive_max=[module.inf + 1],
        implicit_lower_bounds=[False], implicit_upper_bounds=[True],
    )
    assert str(t[module.d[0].stride[stride]].domain) == expected


@BOTH
def test_compose_overflowing_index_array_range_raises(module: Any) -> None:
    # b_to_c reads b through an affine map, so the index range of a_to_b's index array is
    # recomputed from b's bounds: the preimage of (-inf, -2**62 + 3) under 1 - x has a
    # lower bound past the finite index range, which is an error, not clamped.
    a_to_b = module.IndexTransform(
        input_inclusive_min=[-(2**62 - 1), -2], input_exclusive_max=[2**62, 0],
        output=[module.OutputIndexMap(index_array=np.array([[0, 0]]), offset=1, stride=-1)],
    )
    b_to_c = module.IndexTransform(
        input_inclusive_min=[-4611686018427387903], input_exclusive_max=[-4611686018427387901],
        output=[module.OutputIndexMap(0), module.OutputIndexMap(input_dimension=0, stride=-2)],
    )
    message = (
        "Integer overflow propagating range (-inf, -4611686018427387901) through inverse "
        "affine transform with offset -1 and multiplier 1"
    )
    with pytest.raises(IndexError, match="^" + re.escape(message)):
        b_to_c[a_to_b]


@BOTH
def test_selection_after_index_terms_follows_term_order(module: Any) -> None:
    # The dimensions a selection becomes are listed term by term; the joint index-array
    # dimensions belong to the first array term (not after the newaxis/slice ones).
    t = module.IndexTransform(input_rank=1)
    expr = module.d[:][np.array([], dtype=np.int64), None].transpose[0]
    assert t[expr].to_json() == {
        "input_inclusive_min": [0, [0]], "input_exclusive_max": [0, [1]], "output": [{}],
    }
    box = module.IndexTransform(input_shape=[3, 4])
    labeled = box[module.d[:][np.array([0]), None, :].label["a", "b", "c"]]
    assert labeled.domain.labels == ("a", "b", "c")
    reordered = box[module.d[1, 0].oindex[np.array([[1, 2]]), np.array([0, 1])].label["a", "b", "c"]]
    assert str(reordered.domain) == '{ "c": [0, 2), "a": [0, 1), "b": [0, 2) }'


@BOTH
def test_index_array_into_explicitly_empty_domain_is_not_bounds_checked(module: Any) -> None:
    # The domain [0, 0) maps no index, so the array [0, 0] is kept (its range narrowed to
    # the empty [0, 0)) rather than rejected.
    t = module.IndexTransform(input_inclusive_min=[0], input_exclusive_max=[0])
    assert str(t[np.array([0, 0])]) == (
        "Rank 1 -> 1 index space transform:\n  Input domain:\n    0: [0, 2)\n"
        "  Output index maps:\n    out[0] = 0 + 1 * bounded([0, 0), array(in)), where array =\n"
        "      {0, 0}\n"
    )


@BOTH
@pytest.mark.parametrize("implicit_upper", [False, True])
def test_bool_array_positions_are_checked_lazily(module: Any, implicit_upper: bool) -> None:
    # [False, False, True, True] on [0, 3) selects {2, 3}: index arrays are not checked
    # against the domain when indexing, only their range is narrowed (to [0, 3) for an
    # explicit upper bound, [0, +inf) for an implicit one).
    t = module.IndexTransform(input_shape=[3], implicit_upper_bounds=[implicit_upper])
    result = t[()][np.array([False, False, True, True])]
    bounds = "[0, +inf)" if implicit_upper else "[0, 3)"
    assert str(result) == (
        "Rank 1 -> 1 index space transform:\n  Input domain:\n    0: [0, 2)\n"
        f"  Output index maps:\n    out[0] = 0 + 1 * bounded({bounds}, array(in)), where array =\n"
        "      {2, 3}\n"
    )


@BOTH
@pytest.mark.parametrize(
    ("index", "message"),
    [
        (lambda m: m.IndexTransform(input_shape=[2])[m.d[0].stride[0]],
         "Applying stride to input dimension 0: Stride must be non-zero"),
        (lambda m: m.array(np.zeros((2, 3)))[m.d[0, 0].label["a"]],
         r"Input dimensions \{0\} specified more than once"),
        (lambda m: m.array(np.zeros((2, 3)))[m.d["x"]],
         "Must specify at least one operation in dimension expression"),
        (lambda m: m.IndexTransform(input_shape=[2, 3])[m.d[0].translate_by[1, 2]],
         r"Number of dimensions \(1\) does not match number of indices \(2\)"),
        (lambda m: m.d[0][1].vindex[None],
         r"tensorstore.newaxis \(`None`\) not valid in chained indexing operations"),
        (lambda m: m.IndexDomain(shape=[2])[m.d[0].stride[0]],
         "Applying stride to input dimension 0: Stride must be non-zero"),
    ],
    ids=["stride-0", "repeated-dim", "no-operation", "count", "chained-newaxis", "domain"],
)
def test_invalid_indexing_raises_index_error(module: Any, index: Any, message: str) -> None:
    # tensorstore raises IndexError for every failure while indexing.
    with pytest.raises(IndexError, match=f"^{message}"):
        index(module)


@BOTH
def test_equality_with_an_index_array_on_an_unbounded_domain(module: Any) -> None:
    # Compared in compact form: spreading it over the unbounded domain is impossible.
    t = module.IndexTransform(
        input_inclusive_min=[0], input_exclusive_max=[module.inf],
        output=[module.OutputIndexMap(index_array=np.array([7]))],
    )
    assert t == t
    narrow = module.IndexTransform(
        input_shape=[2, 3], output=[module.OutputIndexMap(index_array=np.array([[1], [2]]))]
    )
    wide = module.IndexTransform(
        input_shape=[2, 3], output=[module.OutputIndexMap(index_array=np.array([[1, 1, 1], [2, 2, 2]]))]
    )
    other = module.IndexTransform(
        input_shape=[2, 3], output=[module.OutputIndexMap(index_array=np.array([[1, 1, 2], [2, 2, 2]]))]
    )
    assert narrow == wide
    assert wide != other
    assert narrow != other


@BOTH
def test_domain_size_is_capped_at_the_largest_index(module: Any) -> None:
    assert module.IndexDomain(shape=[2**40, 2**40]).size == 2**63 - 1
    assert module.IndexDomain(rank=2).size == 2**63 - 1
    assert module.IndexDomain(shape=[3, 0]).size == 0


@BOTH
@pytest.mark.parametrize(
    "index",
    [
        lambda m: m.IndexTransform(input_rank=1)[m.inf:],
        lambda m: m.IndexTransform(input_shape=[3])[2**62:2**62],
        lambda m: m.IndexTransform(input_rank=1)[:-m.inf],
        lambda m: m.IndexTransform(input_rank=1)[-m.inf::-1],
        lambda m: m.IndexTransform(input_rank=1)[m.inf],
        lambda m: m.IndexTransform(input_rank=1)[-m.inf],
    ],
    ids=["start-inf", "start-past-inf", "stop-minus-inf", "reverse-start-minus-inf", "int-inf", "int-minus-inf"],
)
def test_infinite_or_unrepresentable_indices_are_refused(module: Any, index: Any) -> None:
    with pytest.raises(IndexError):
        index(module)


@BOTH
def test_infinite_slice_bounds_leave_a_side_unbounded(module: Any) -> None:
    t = module.IndexTransform(input_rank=1)
    assert str(t[: module.inf].domain) == "{ (-inf*, +inf) }"
    assert str(t[-module.inf : 5].domain) == "{ (-inf, 5) }"
    assert str(t[module.inf :: -1].domain) == "{ (-inf*, +inf) }"
    assert str(t[5 : -module.inf : -1].domain) == "{ [-5, +inf) }"
    assert str(t[module.inf - 1].domain) == "{  }"


@BOTH
def test_offsets_and_strides_that_overflow_64_bits_are_refused(module: Any) -> None:
    shifted = module.IndexTransform(
        input_shape=[2],
        output=[module.OutputIndexMap(input_dimension=0, offset=2**62, stride=2**61)],
    )
    with pytest.raises(IndexError, match=r"^Integer overflow computing output offset for dimension 0"):
        shifted[module.d[0].translate_by[-5]]
    strided = module.IndexTransform(
        input_shape=[2], output=[module.OutputIndexMap(input_dimension=0, stride=2**40)]
    )
    with pytest.raises(IndexError, match=r"^Integer overflow computing"):
        strided[module.d[0].stride[2**40]]
    big = module.IndexTransform(
        input_shape=[4], output=[module.OutputIndexMap(input_dimension=0, stride=2**61)]
    )
    with pytest.raises(IndexError, match=r"^Integer overflow computing"):
        big[big[module.d[0][0:1]]]


@BOTH
def test_calling_a_transform_checks_only_explicit_bounds(module: Any) -> None:
    t = module.IndexTransform(
        input_inclusive_min=[1], input_exclusive_max=[4], implicit_lower_bounds=[True]
    )
    assert t([0]) == (0,)
    with pytest.raises(ValueError, match="Index 7 is not contained in the domain"):
        t([7])
    with pytest.raises(ValueError, match="is not contained in the domain"):
        module.IndexTransform(input_rank=1)([module.inf])


@BOTH
def test_an_index_array_may_not_depend_on_an_infinite_dimension(module: Any) -> None:
    with pytest.raises(ValueError, match="depends on input dimension 0 with infinite bounds"):
        module.IndexTransform(
            input_inclusive_min=[-module.inf], input_shape=[2],
            output=[module.OutputIndexMap(index_array=np.array([2, 3]))],
        )


SELECTION_ERRORS = [
    (slice(3, None), r"^Dimension index 3 is outside valid range \[-3, 3\)$"),
    (slice(2, 0), r"^2:0 is not a valid range$"),
    (slice(None, 4), r"^Dimension exclusive stop index 4 is outside valid range \[-4, 3\]$"),
    ("", r"^Dimension cannot be specified by empty label$"),
    ([0, "a"], r"^Input dimensions \{0\} specified more than once$"),
]


@BOTH
@pytest.mark.parametrize(("selection", "message"), SELECTION_ERRORS)
def test_domains_and_output_maps_select_dimensions_as_dim_expressions_do(
    module: Any, selection: Any, message: str
) -> None:
    domain = module.IndexDomain(shape=[3, 4, 5], labels=["a", "b", ""])
    # tensorstore raises IndexError for a label, ValueError otherwise; ours are both.
    with pytest.raises((ValueError, IndexError), match=message):
        domain[selection]
    if isinstance(selection, slice):
        with pytest.raises(ValueError, match=message):
            module.IndexTransform(domain).output[selection]
        with pytest.raises(ValueError, match=message):
            domain.transpose(selection)


@BOTH
def test_a_domain_takes_dim_selections_and_nested_sequences(module: Any) -> None:
    domain = module.IndexDomain(shape=[3, 4, 5], labels=["a", "b", ""])
    assert domain[module.d["b"]] == module.IndexDomain(shape=[4], labels=["b"])
    assert domain[module.d[1:]] == domain[1:]
    assert domain[(module.d["b"], 0)].labels == ("b", "a")
    assert domain[[[0], [1]]] == domain[0:2]
    transform = module.IndexTransform(domain)
    assert len(transform.output[0:3:2]) == 2
    assert len(transform.output[::-1]) == 3
    with pytest.raises(
        ValueError, match=r"^Source dimension list \{0, 0\} is not a valid dimension permutation"
    ):
        domain.transpose([0, "a"])


@BOTH
@pytest.mark.parametrize(
    ("key", "shape"),
    [
        # An ``...`` between index arrays separates them even where it stands for no
        # dimension (as in NumPy): the broadcast dimensions go first.
        ((slice(None), np.array([0, 1]), Ellipsis, np.array([3, 2])), (2, 5)),
        ((slice(None), np.array([0, 1]), np.array([3, 2])), (5, 2)),
        ((Ellipsis, np.array([0, 1]), np.array([3, 2])), (5, 2)),
        ((np.array([0, 1]), 1, np.array([3, 2])), (2,)),
    ],
)
def test_index_arrays_separated_by_an_empty_ellipsis_go_first(
    module: Any, key: tuple[Any, ...], shape: tuple[int, ...]
) -> None:
    a = np.arange(40, dtype=np.int32).reshape(5, 2, 4)
    view = module.array(a)[key]
    assert a[key].shape == shape
    assert view.domain.shape == shape
    np.testing.assert_array_equal(view.read().result(), a[key])


@BOTH
@pytest.mark.parametrize("lower", [2, -2, 0])
def test_a_shape_of_plus_inf_reaches_plus_inf_from_any_lower_bound(module: Any, lower: int) -> None:
    domain = module.IndexDomain(json={"inclusive_min": [lower], "shape": ["+inf"]})
    assert domain.to_json() == {"inclusive_min": [lower], "exclusive_max": ["+inf"]}
    transform = module.IndexTransform(json={"input_inclusive_min": [lower], "input_shape": [["+inf"]]})
    assert str(transform.domain) == f"{{ [{lower}, +inf*) }}"


@BOTH
@pytest.mark.parametrize("op", ["hull", "intersect"])
def test_combining_a_domain_with_something_else_is_a_type_error(module: Any, op: str) -> None:
    domain = module.IndexDomain(shape=[3])
    with pytest.raises(TypeError):
        getattr(domain, op)(domain[0])


@BOTH
@pytest.mark.parametrize("view", [lambda a: a[5, 0:0], lambda a: a.oindex[5, []]])
def test_an_array_refuses_a_constant_index_outside_it_even_for_an_empty_view(module: Any, view: Any) -> None:
    store = view(module.array(np.zeros((3, 2), np.int32)))
    message = r"Checking bounds of constant output index map for dimension 0: Index 5 is outside valid range \[0, 3\)"
    with pytest.raises(ValueError, match=message):
        store.read().result()
    with pytest.raises(ValueError, match=message):
        store.write(np.zeros(store.shape, np.int32)).result()
    # An array of no element reads any view of it.
    assert module.array(np.zeros((3, 2, 0), np.int32))[7].read().result().shape == (2, 0)

import numpy as np
import pytest

from silver_ner.projection.link_methods import (
    apply_distortion,
    argmax_links,
    backward_links,
    cosine_similarity,
    forward_links,
    itermax_links,
    link_matrix,
    links_of,
    match_links,
)


def test_cosine_similarity_is_rescaled_to_unit_interval():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    y = np.array([[3.0, 0.0], [-1.0, 0.0]])
    sim = cosine_similarity(x, y)
    np.testing.assert_allclose(sim, [[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])


def test_cosine_similarity_rejects_mismatched_widths():
    with pytest.raises(ValueError, match="same width"):
        cosine_similarity(np.ones((2, 3)), np.ones((2, 4)))


def test_forward_backward_and_their_intersection():
    sim = np.array([[0.9, 0.8, 0.1], [0.95, 0.2, 0.3]])
    assert links_of(forward_links(sim)) == [(0, 0), (1, 0)]
    assert links_of(backward_links(sim)) == [(0, 1), (1, 0), (1, 2)]
    assert links_of(argmax_links(sim)) == [(1, 0)]


def test_ties_go_to_the_lowest_index():
    sim = np.full((2, 2), 0.5)
    assert links_of(forward_links(sim)) == [(0, 0), (1, 0)]
    assert links_of(argmax_links(sim)) == [(0, 0)]
    assert links_of(match_links(sim)) == [(0, 0), (1, 1)]


def test_itermax_adds_a_second_round_for_unaligned_words():
    # row 0 and row 2 both prefer column 0; column 0 prefers row 0. Round two: row 2 is
    # free and its best remaining column (damped by 0.9 where the column is taken) is 2.
    sim = np.array(
        [
            [0.9, 0.1, 0.2],
            [0.1, 0.8, 0.1],
            [0.85, 0.2, 0.8],
        ]
    )
    assert links_of(argmax_links(sim)) == [(0, 0), (1, 1)]
    assert links_of(itermax_links(sim)) == [(0, 0), (1, 1), (2, 2)]


def test_itermax_damps_pairs_with_one_aligned_side():
    # after round one (0,0) and (1,1) are linked; row 2 and column 2 are free. For row 2,
    # column 0 scores 0.95 * 0.9 = 0.855 against column 2 at 0.8 * 1.0: it links to column 0
    # only if column 0 also picks row 2, which it does (its other rows are masked to 0).
    sim = np.array(
        [
            [0.99, 0.1, 0.1, 0.1],
            [0.1, 0.99, 0.1, 0.1],
            [0.95, 0.1, 0.8, 0.1],
            [0.1, 0.1, 0.1, 0.2],
        ]
    )
    first = links_of(argmax_links(sim))
    assert first == [(0, 0), (1, 1), (3, 3)]
    assert links_of(itermax_links(sim)) == [(0, 0), (1, 1), (2, 0), (3, 3)]


def test_itermax_keeps_argmax_on_tiny_matrices():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert links_of(itermax_links(sim)) == links_of(argmax_links(sim)) == [(0, 0)]


def test_itermax_never_links_two_aligned_words():
    rng = np.random.default_rng(0)
    for _ in range(50):
        sim = rng.random((rng.integers(3, 9), rng.integers(3, 9)))
        first = argmax_links(sim)
        more = itermax_links(sim)
        assert (more & first).sum() == first.sum()  # a superset of argmax
        added = more & ~first
        rows_taken = first.any(axis=1)
        cols_taken = first.any(axis=0)
        for i, j in zip(*np.nonzero(added)):
            assert not (rows_taken[i] and cols_taken[j])


def test_match_is_a_maximum_weight_matching():
    sim = np.array([[0.9, 0.8, 0.0], [0.85, 0.1, 0.0]])
    # greedy would take (0,0) then (1,1) = 1.0; the optimum is (0,1) + (1,0) = 1.65
    assert links_of(match_links(sim)) == [(0, 1), (1, 0)]


def test_distortion_damps_far_off_diagonal_cells():
    sim = np.ones((3, 3))
    out = apply_distortion(sim, 0.5)
    np.testing.assert_allclose(np.diag(out), 1.0)
    assert out[0, 2] == pytest.approx(0.5)
    assert out[0, 1] == pytest.approx(1 - 0.5 * 0.25)
    assert apply_distortion(sim, 0.0) is sim
    single = np.ones((1, 4))
    assert apply_distortion(single, 0.5) is single


def test_link_matrix_dispatches_and_rejects_unknown_methods():
    sim = np.array([[0.2, 0.9], [0.8, 0.3]])
    assert links_of(link_matrix(sim, "argmax")) == [(0, 1), (1, 0)]
    with pytest.raises(ValueError, match="unknown alignment method 'maxmax'"):
        link_matrix(sim, "maxmax")
    with pytest.raises(ValueError, match="NaN"):
        link_matrix(np.array([[np.nan]]), "argmax")


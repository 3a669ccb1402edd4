"""Identifiers: monotonic ULIDs and the broker tags derived from them."""

from __future__ import annotations

import itertools

from order_service.domain.ids import new_order_id, new_ulid, tag_for

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_a_ulid_is_26_crockford_characters() -> None:
    ulid = new_ulid()
    assert len(ulid) == 26
    assert set(ulid) <= CROCKFORD


def test_ulids_made_in_a_tight_loop_strictly_increase() -> None:
    ulids = [new_ulid() for _ in range(10_000)]
    assert all(a < b for a, b in itertools.pairwise(ulids))


def test_a_tag_is_20_alphanumerics_from_the_order_id() -> None:
    order_id = new_order_id()
    tag = tag_for(order_id)
    assert len(tag) == 20
    assert tag.isalnum()
    assert tag == order_id[:10] + order_id[-10:]


def test_tags_are_unique_across_10k_orders() -> None:
    tags = {tag_for(new_order_id()) for _ in range(10_000)}
    assert len(tags) == 10_000

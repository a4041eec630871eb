import pytest

from napari_clickseg.engine.evaluation import ObjectResult
from napari_clickseg.engine.evaluation_shards import ShardOf, interleave


@pytest.mark.parametrize(("total", "world"), [(7, 2), (5, 3), (2, 4), (9, 1)])
def test_shards_split_the_data_set_and_interleave_restores_its_order(total, world):
    objects = list(range(total))
    shares = [list(ShardOf(objects, rank, world)) for rank in range(world)]
    assert [len(ShardOf(objects, rank, world)) for rank in range(world)] == [len(s) for s in shares]
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    records = [[ObjectResult(name=str(i)) for i in share] for share in shares]
    assert [r.name for r in interleave(records)] == [str(i) for i in objects]


def test_a_rank_outside_the_world_is_refused():
    with pytest.raises(ValueError, match="rank 2 does not lie in a world of 2"):
        ShardOf([], 2, 2)

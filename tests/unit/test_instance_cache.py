"""The bounded per-instance map behind the meta, tenant-ready and connection caches."""

from chalicelib.logic.instance_cache import InstanceCache


def test_the_least_recently_used_entry_leaves_first_and_forget_removes_one():
    # Given a cache of two, where "a" was used after "b" was put
    cache: InstanceCache[str, int] = InstanceCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    # When a third entry comes
    cache.put("c", 3)
    # Then "b" left, and forgetting "a" (twice is fine) leaves only "c"
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    cache.forget("a")
    cache.forget("a")
    assert (cache.get("a"), cache.get("c")) == (None, 3)

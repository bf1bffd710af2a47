//! `measure` under `CountingAlloc`, alone in its binary so that no other
//! test allocates or frees meanwhile.

use tokbench_testenv::{measure, CountingAlloc};

#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

#[test]
fn measure_sees_the_largest_allocation_and_the_peak() {
    let (len, stats) = measure(|| {
        let big = vec![1u8; 3 << 20];
        let len = big.len();
        drop(big);
        let small = vec![1u8; 1 << 20];
        len + small.len()
    });
    assert_eq!(len, 4 << 20);
    // 3 MiB at most at once: the 1 MiB came after the 3 MiB were freed.
    assert!(
        stats.largest >= 3 << 20 && stats.largest < 4 << 20,
        "{stats:?}"
    );
    assert!(stats.peak >= 3 << 20 && stats.peak < 4 << 20, "{stats:?}");
    let ((), none) = measure(|| ());
    assert!(none.largest < 1024 && none.peak < 1024, "{none:?}");
}

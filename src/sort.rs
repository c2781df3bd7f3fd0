//! One small sort for the few places that sort at run time.
//!
//! A heapsort: each `sort` / `sort_unstable` instantiation costs 2–4 KB of wasm, this one a few
//! hundred bytes. It is not stable, so callers sort by a total order (unique keys), where every
//! correct sort gives the same result.

/// Sorts `v` ascending by `less`, a strict total order on its elements.
pub(crate) fn heap_sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use super::heap_sort_by;

    #[test]
    fn sorts_as_sort_unstable_does() {
        let mut seed = 7u64;
        for len in 0..60 {
            let mut v: Vec<(usize, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (((seed >> 33) % 5) as usize, i)
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            heap_sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, want);
            let mut words: Vec<String> = v.iter().map(|(k, i)| format!("{k}-{}", i * 7 % 11)).collect();
            let mut want: Vec<String> = words.clone();
            want.sort_unstable_by(|a, b| b.cmp(a));
            heap_sort_by(&mut words, |a, b| a > b);
            assert_eq!(words, want);
        }
    }
}

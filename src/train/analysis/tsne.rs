//! Barnes-Hut t-SNE (van der Maaten 2014): input similarities over each point's 3·perplexity
//! nearest neighbours only (a sparse P), and the repulsive forces of the layout summarised
//! by a quadtree, so time per iteration is O(n log n) and memory O(n·perplexity). The exact
//! O(n²) method stays in [`super::tsne2`] with θ = 0, for checking this one against it.

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// Rows of the distance block each thread computes at a time in [`nearest_neighbours`]:
/// 256 × 10,000 distances are 10 MB, so memory stays far from O(n²).
const KNN_BLOCK: usize = 256;
/// Points a quadtree leaf holds before it is split: summed directly, they are exact and
/// cheaper than more levels.
const LEAF: usize = 8;
/// Depth at which splitting stops (many identical points would otherwise never separate).
const MAX_DEPTH: usize = 40;

/// The k nearest neighbours of every row (itself excluded), nearest first.
#[derive(Debug, Clone)]
pub struct Neighbours {
    /// Neighbours per row.
    pub k: usize,
    /// Row i's neighbours are `index[i·k .. (i+1)·k]`.
    pub index: Vec<u32>,
    /// Their squared Euclidean distances, in the same order.
    pub dist2: Vec<f32>,
}

impl Neighbours {
    /// Row `i`'s neighbours.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.index[i * self.k..(i + 1) * self.k]
    }
}

/// Exact k-nearest neighbours of the rows of `x` by blocks of distances (‖a‖² + ‖b‖² − 2a·b,
/// the dot products as a matrix product), blocks shared between the cores. `keep_going`
/// is asked after each block with the fraction done and may stop the search (then `None`).
pub fn nearest_neighbours(
    x: ArrayView2<f32>,
    k: usize,
    keep_going: &(dyn Fn(f32) -> bool + Sync),
) -> Option<Neighbours> {
    let n = x.nrows();
    let k = k.min(n.saturating_sub(1));
    let sq: Vec<f32> = x.rows().into_iter().map(|r| r.dot(&r)).collect();
    let starts: Vec<usize> = (0..n).step_by(KNN_BLOCK).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let blocks: Option<Vec<(Vec<u32>, Vec<f32>)>> = starts
        .par_iter()
        .map(|&start| {
            let rows = KNN_BLOCK.min(n - start);
            let dots = x.slice(s![start..start + rows, ..]).dot(&x.t());
            let mut index = Vec::with_capacity(rows * k);
            let mut dist2 = Vec::with_capacity(rows * k);
            let mut cand: Vec<(f32, u32)> = Vec::with_capacity(n);
            for (r, dot_row) in dots.rows().into_iter().enumerate() {
                let i = start + r;
                cand.clear();
                cand.extend(
                    dot_row
                        .iter()
                        .zip(&sq)
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(j, (&d, &s))| ((sq[i] + s - 2.0 * d).max(0.0), j as u32)),
                );
                if k > 0 && k < cand.len() {
                    cand.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                }
                cand.truncate(k);
                cand.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                index.extend(cand.iter().map(|c| c.1));
                dist2.extend(cand.iter().map(|c| c.0));
            }
            let finished = done.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
            keep_going(finished as f32 / n.max(1) as f32).then_some((index, dist2))
        })
        .collect();
    let blocks = blocks?;
    let mut index = Vec::with_capacity(n * k);
    let mut dist2 = Vec::with_capacity(n * k);
    for (i, d) in blocks {
        index.extend(i);
        dist2.extend(d);
    }
    Some(Neighbours { k, index, dist2 })
}

/// The Gaussian conditional probabilities p(j|i) over one point's neighbours (squared
/// distances `d2`) whose perplexity is `perplexity`, the width found by bisection; written
/// into `out`.
pub(super) fn calibrate_row(d2: &[f64], perplexity: f64, out: &mut [f64]) {
    let target = perplexity.ln();
    let (mut lo, mut hi, mut beta) = (0.0f64, f64::INFINITY, 1.0f64);
    // Subtracting the smallest distance keeps exp() from underflowing to 0 everywhere
    // for far-apart points; it cancels in the normalisation.
    let d_min = d2.iter().copied().fold(f64::INFINITY, f64::min);
    for _ in 0..64 {
        let mut sum = 0.0;
        let mut weighted = 0.0;
        for (o, &d) in out.iter_mut().zip(d2) {
            *o = (-beta * (d - d_min)).exp();
            sum += *o;
            weighted += (d - d_min) * *o;
        }
        let sum = sum.max(1e-300);
        let entropy = sum.ln() + beta * weighted / sum;
        for o in out.iter_mut() {
            *o /= sum;
        }
        if (entropy - target).abs() < 1e-5 {
            break;
        }
        if entropy > target {
            lo = beta;
            beta = if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = (beta + lo) / 2.0;
        }
    }
}

/// Symmetric sparse input probabilities p_ij = (p(j|i) + p(i|j)) / 2n, one row per point
/// (compressed sparse rows: `row_start[i]..row_start[i+1]` index `col` and `val`).
#[derive(Debug, Clone)]
pub struct SparseP {
    row_start: Vec<usize>,
    col: Vec<u32>,
    val: Vec<f64>,
}

impl SparseP {
    /// From the neighbours of every point and the perplexity.
    pub fn new(nb: &Neighbours, perplexity: f64) -> Self {
        let n = nb.index.len() / nb.k.max(1);
        let k = nb.k;
        let conditional: Vec<f64> = (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let d2: Vec<f64> = nb.dist2[i * k..(i + 1) * k]
                    .iter()
                    .map(|&d| f64::from(d))
                    .collect();
                let mut row = vec![0.0; k];
                calibrate_row(&d2, perplexity, &mut row);
                row
            })
            .collect();
        // Each (i, j) pair and its mirror (j, i), summed per row after sorting by column.
        let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::with_capacity(2 * k); n];
        for i in 0..n {
            for (slot, &j) in nb.of(i).iter().enumerate() {
                let v = conditional[i * k + slot];
                rows[i].push((j, v));
                rows[j as usize].push((i as u32, v));
            }
        }
        let norm = 2.0 * n as f64;
        let mut row_start = Vec::with_capacity(n + 1);
        let mut col = Vec::new();
        let mut val = Vec::new();
        row_start.push(0);
        for mut row in rows {
            row.sort_unstable_by_key(|e| e.0);
            for (j, v) in row {
                if col.len() > *row_start.last().unwrap_or(&0) && col.last() == Some(&j) {
                    if let Some(last) = val.last_mut() {
                        *last += v / norm;
                    }
                } else {
                    col.push(j);
                    val.push(v / norm);
                }
            }
            row_start.push(col.len());
        }
        SparseP {
            row_start,
            col,
            val,
        }
    }

    /// Row `i`: (columns, values).
    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.row_start[i]..self.row_start[i + 1];
        (&self.col[r.clone()], &self.val[r])
    }
}

/// A cell of the quadtree: its points are `order[start..end]` (and `pos[start..end]`).
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    /// Centre of mass of its points.
    com: [f32; 2],
    /// Number of points.
    count: u32,
    /// Side of the square cell, squared.
    side2: f32,
    /// Index of the first of its four children; 0 for a leaf.
    first_child: u32,
    start: u32,
    end: u32,
}

/// A quadtree over the layout, for Barnes-Hut sums of the repulsive forces.
struct QuadTree {
    cells: Vec<Cell>,
    /// Point indices, grouped so that every cell's points are contiguous.
    order: Vec<u32>,
    /// Their positions, in the same order (read in leaves without jumping around `y`); f32
    /// because the summaries need no more and twice as many fit in cache.
    pos: Vec<[f32; 2]>,
}

/// Moves the elements for which `left` holds to the front; returns how many there are.
fn partition(items: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut first_right = 0;
    for i in 0..items.len() {
        if left(items[i]) {
            items.swap(i, first_right);
            first_right += 1;
        }
    }
    first_right
}

impl QuadTree {
    fn new(y: &[[f64; 2]]) -> Self {
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in y {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let side = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-9) * (1.0 + 1e-9);
        let mut tree = QuadTree {
            cells: vec![Cell::default()],
            order: (0..y.len() as u32).collect(),
            pos: Vec::new(),
        };
        let mut order = std::mem::take(&mut tree.order);
        tree.build(0, y, &mut order, 0, lo, side, 0);
        tree.pos = order
            .iter()
            .map(|&i| [y[i as usize][0] as f32, y[i as usize][1] as f32])
            .collect();
        tree.order = order;
        tree
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        cell: usize,
        y: &[[f64; 2]],
        order: &mut [u32],
        offset: usize,
        corner: [f64; 2],
        side: f64,
        depth: usize,
    ) {
        let count = order.len();
        let mut com = [0.0; 2];
        for &i in order.iter() {
            com[0] += y[i as usize][0];
            com[1] += y[i as usize][1];
        }
        let c = count.max(1) as f64;
        self.cells[cell] = Cell {
            com: [(com[0] / c) as f32, (com[1] / c) as f32],
            count: count as u32,
            side2: (side * side) as f32,
            first_child: 0,
            start: offset as u32,
            end: (offset + count) as u32,
        };
        if count <= LEAF || depth >= MAX_DEPTH {
            return;
        }
        let half = side / 2.0;
        let mid = [corner[0] + half, corner[1] + half];
        let split_x = partition(order, |i| y[i as usize][0] < mid[0]);
        let (left, right) = order.split_at_mut(split_x);
        let split_l = partition(left, |i| y[i as usize][1] < mid[1]);
        let split_r = partition(right, |i| y[i as usize][1] < mid[1]);
        let first = self.cells.len();
        self.cells[cell].first_child = first as u32;
        self.cells.extend([Cell::default(); 4]);
        let (bottom_left, top_left) = left.split_at_mut(split_l);
        let (bottom_right, top_right) = right.split_at_mut(split_r);
        let quadrants = [
            (bottom_left, offset, corner),
            (top_left, offset + split_l, [corner[0], mid[1]]),
            (bottom_right, offset + split_x, [mid[0], corner[1]]),
            (top_right, offset + split_x + split_r, mid),
        ];
        for (q, (items, off, c)) in quadrants.into_iter().enumerate() {
            self.build(first + q, y, items, off, c, half, depth + 1);
        }
    }

    /// Repulsive force on point `i` at `yi` before division by Z, and its share of Z:
    /// Σ_j q_ij²·(yi − yj) and Σ_j q_ij with q_ij = 1/(1+‖yi−yj‖²), cells far enough away
    /// (side < θ·distance) taken as one point at their centre of mass.
    fn repulsion(&self, i: u32, yi: [f32; 2], theta2: f32, stack: &mut Vec<u32>) -> [f64; 3] {
        let mut out = [0.0f32; 3];
        stack.clear();
        stack.push(0);
        while let Some(c) = stack.pop() {
            let cell = &self.cells[c as usize];
            if cell.count == 0 {
                continue;
            }
            if cell.first_child == 0 {
                for p in cell.start as usize..cell.end as usize {
                    if self.order[p] == i {
                        continue;
                    }
                    let (dx, dy) = (yi[0] - self.pos[p][0], yi[1] - self.pos[p][1]);
                    let q = 1.0 / (1.0 + dx * dx + dy * dy);
                    out[0] += q * q * dx;
                    out[1] += q * q * dy;
                    out[2] += q;
                }
                continue;
            }
            let (dx, dy) = (yi[0] - cell.com[0], yi[1] - cell.com[1]);
            let d2 = dx * dx + dy * dy;
            if cell.side2 < theta2 * d2 {
                let q = 1.0 / (1.0 + d2);
                let mq = cell.count as f32 * q;
                out[0] += mq * q * dx;
                out[1] += mq * q * dy;
                out[2] += mq;
            } else {
                stack.extend(cell.first_child..cell.first_child + 4);
            }
        }
        out.map(f64::from)
    }
}

/// The t-SNE gradient of every point by Barnes-Hut (θ = `theta`), with the attractive
/// forces multiplied by `exaggeration`; points shared between the cores.
pub(super) fn gradient(
    y: &[[f64; 2]],
    p: &SparseP,
    theta: f64,
    exaggeration: f64,
    grads: &mut [[f64; 2]],
) {
    let tree = QuadTree::new(y);
    let theta2 = (theta * theta) as f32;
    // Points in tree order: neighbours in a row walk nearly the same cells, which stay in
    // cache.
    let mut rep = vec![[0.0; 3]; y.len()];
    let in_tree_order: Vec<(u32, [f64; 3])> = tree
        .order
        .par_iter()
        .zip(&tree.pos)
        .map_init(Vec::new, |stack, (&i, &yi)| {
            (i, tree.repulsion(i, yi, theta2, stack))
        })
        .collect();
    for (i, r) in in_tree_order {
        rep[i as usize] = r;
    }
    let z: f64 = rep.iter().map(|r| r[2]).sum::<f64>().max(1e-300);
    grads.par_iter_mut().enumerate().for_each(|(i, g)| {
        let (cols, vals) = p.row(i);
        let yi = y[i];
        let mut attr = [0.0; 2];
        for (&j, &pij) in cols.iter().zip(vals) {
            let yj = y[j as usize];
            let (dx, dy) = (yi[0] - yj[0], yi[1] - yj[1]);
            let f = pij / (1.0 + dx * dx + dy * dy);
            attr[0] += f * dx;
            attr[1] += f * dy;
        }
        g[0] = 4.0 * (exaggeration * attr[0] - rep[i][0] / z);
        g[1] = 4.0 * (exaggeration * attr[1] - rep[i][1] / z);
    });
}

/// Share of each point's `k` nearest neighbours in `x` that are also among its `k` nearest
/// in the layout `y`, averaged over the points (1: every neighbourhood kept).
pub fn neighbour_preservation(x: &Array2<f32>, y: &[[f32; 2]], k: usize) -> f64 {
    let n = x.nrows().min(y.len());
    if n < 2 {
        return 1.0;
    }
    let yl = Array2::from_shape_fn((n, 2), |(i, c)| y[i][c]);
    let all = |_: f32| true;
    let (Some(a), Some(b)) = (
        nearest_neighbours(x.slice(s![..n, ..]), k, &all),
        nearest_neighbours(yl.view(), k, &all),
    ) else {
        return 0.0;
    };
    let kept: usize = (0..n)
        .map(|i| {
            let theirs = b.of(i);
            a.of(i).iter().filter(|j| theirs.contains(j)).count()
        })
        .sum();
    kept as f64 / (n * a.k.max(1)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_the_nearest_rows_without_the_row_itself() {
        let x = Array2::from_shape_fn((50, 3), |(i, k)| (i * i + k) as f32 * 0.1);
        let nb = nearest_neighbours(x.view(), 4, &|_| true).unwrap();
        for i in 0..50 {
            let mut brute: Vec<(f32, u32)> = (0..50)
                .filter(|&j| j != i)
                .map(|j| {
                    let d: f32 = (0..3).map(|k| (x[[i, k]] - x[[j, k]]).powi(2)).sum();
                    (d, j as u32)
                })
                .collect();
            brute.sort_by(|a, b| a.0.total_cmp(&b.0));
            let want: Vec<u32> = brute[..4].iter().map(|b| b.1).collect();
            assert_eq!(nb.of(i), &want[..], "row {i}");
        }
        assert!(nearest_neighbours(x.view(), 4, &|_| false).is_none());
    }

    #[test]
    fn sparse_p_is_symmetric_and_sums_to_one() {
        let x = Array2::from_shape_fn((60, 4), |(i, k)| ((i * 7 + k * 3) % 11) as f32);
        let nb = nearest_neighbours(x.view(), 9, &|_| true).unwrap();
        let p = SparseP::new(&nb, 3.0);
        let total: f64 = p.val.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        for i in 0..60 {
            let (cols, vals) = p.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let (back_cols, back_vals) = p.row(j as usize);
                let at = back_cols.iter().position(|&c| c as usize == i).unwrap();
                assert!((back_vals[at] - v).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn barnes_hut_repulsion_with_theta_zero_is_exact() {
        let y: Vec<[f64; 2]> = (0..200)
            .map(|i| {
                let t = i as f64 * 0.37;
                [t.sin() * (1.0 + t), t.cos() * 0.5 * t]
            })
            .collect();
        let tree = QuadTree::new(&y);
        let mut stack = Vec::new();
        for i in [0usize, 17, 199] {
            let mut want = [0.0; 3];
            for (_, yj) in y.iter().enumerate().filter(|&(j, _)| j != i) {
                let (dx, dy) = (y[i][0] - yj[0], y[i][1] - yj[1]);
                let q = 1.0 / (1.0 + dx * dx + dy * dy);
                want[0] += q * q * dx;
                want[1] += q * q * dy;
                want[2] += q;
            }
            let yi = [y[i][0] as f32, y[i][1] as f32];
            let exact = tree.repulsion(i as u32, yi, 0.0, &mut stack);
            let approx = tree.repulsion(i as u32, yi, 0.5, &mut stack);
            for k in 0..3 {
                // Positions and sums are f32 in the tree.
                assert!((exact[k] - want[k]).abs() < 1e-5 * want[k].abs().max(1.0));
                assert!((approx[k] - want[k]).abs() < 0.05 * want[2]);
            }
        }
    }
}

//! Rightsizing maths: requests recommended from usage percentiles with headroom, the monthly
//! saving at a node's unit rates, and which instance family fits a workload profile.

use serde::{Deserialize, Serialize};

/// Hours in an average month (365 × 24 / 12), as AWS prices a month.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// A request recommended from a usage percentile: `usage × (1 + headroom)`, never below
/// `floor`. Non-finite or negative inputs count as zero.
pub fn recommend(usage: f64, headroom: f64, floor: f64) -> f64 {
    let u = if usage.is_finite() {
        usage.max(0.0)
    } else {
        0.0
    };
    let h = if headroom.is_finite() {
        headroom.max(0.0)
    } else {
        0.0
    };
    let f = if floor.is_finite() {
        floor.max(0.0)
    } else {
        0.0
    };
    (u * (1.0 + h)).max(f)
}

/// Monthly USD saved by moving `replicas` pods from `current` to `recommended` units at
/// `unit_hourly` USD per unit-hour; negative when the recommendation is larger.
pub fn monthly_saving(current: f64, recommended: f64, unit_hourly: f64, replicas: f64) -> f64 {
    let v = (current - recommended) * unit_hourly * replicas * HOURS_PER_MONTH;
    if v.is_finite() { v } else { 0.0 }
}

/// GiB of memory per vCPU in an instance family's general shape.
pub fn family_gib_per_core(family: &str) -> Option<f64> {
    match family.chars().next()? {
        'c' => Some(2.0),
        'm' | 't' => Some(4.0),
        'r' => Some(8.0),
        'x' => Some(16.0),
        _ => None,
    }
}

/// Which class fits a workload needing `gib_per_core`: compute (c), general (m) or memory (r).
pub fn fitting_class(gib_per_core: f64) -> Option<char> {
    if !gib_per_core.is_finite() || gib_per_core <= 0.0 {
        return None;
    }
    Some(if gib_per_core < 3.0 {
        'c'
    } else if gib_per_core < 6.0 {
        'm'
    } else {
        'r'
    })
}

/// The family of an instance type (`m6i.xlarge` → `m6i`).
pub fn instance_family(instance_type: &str) -> &str {
    instance_type.split('.').next().unwrap_or(instance_type)
}

/// Whether the family is AWS Graviton (arm64): a `g` right after the generation digit, as in
/// m6g, c7gn, r8g.
pub fn is_graviton(family: &str) -> bool {
    let mut chars = family.chars().skip_while(|c| c.is_ascii_alphabetic());
    chars.by_ref().find(|c| !c.is_ascii_digit()) == Some('g')
}

/// A node group's instance family against the memory-per-core its pods request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyFit {
    pub family: String,
    pub family_gib_per_core: f64,
    pub workload_gib_per_core: f64,
    /// The class letter that fits better, when the family's does not.
    pub better_class: Option<char>,
}

/// Compares a family's shape with the pods' aggregate shape (cores and GiB requested or used).
pub fn family_fit(family: &str, cores: f64, gib: f64) -> Option<FamilyFit> {
    let shape = family_gib_per_core(family)?;
    if !(cores.is_finite() && gib.is_finite()) || cores <= 0.0 {
        return None;
    }
    let need = gib / cores;
    let better = fitting_class(need).filter(|c| family_gib_per_core(&c.to_string()) != Some(shape));
    Some(FamilyFit {
        family: family.to_string(),
        family_gib_per_core: shape,
        workload_gib_per_core: need,
        better_class: better,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendations_and_savings() {
        assert!((recommend(0.2, 0.25, 0.01) - 0.25).abs() < 1e-12);
        assert_eq!(recommend(f64::NAN, 0.2, 0.05), 0.05);
        assert_eq!(recommend(-1.0, f64::INFINITY, 0.0), 0.0);
        // 1 core → 0.25 core on 2 replicas at $0.04/core-hour: 0.75 × 0.04 × 2 × 730 = 43.80.
        assert!((monthly_saving(1.0, 0.25, 0.04, 2.0) - 43.8).abs() < 1e-9);
        assert!(monthly_saving(0.25, 1.0, 0.04, 1.0) < 0.0);
        assert_eq!(monthly_saving(1.0, 0.0, f64::NAN, 1.0), 0.0);
    }

    #[test]
    fn families() {
        assert_eq!(instance_family("m6i.xlarge"), "m6i");
        assert!(is_graviton("m6g") && is_graviton("c7gn") && is_graviton("r8g"));
        assert!(
            !is_graviton("m6i") && !is_graviton("m6a") && !is_graviton("") && !is_graviton("g5")
        );
        // Memory-heavy pods (8 GiB per core) on a compute family: r fits better.
        let fit = family_fit("c6i", 2.0, 16.0).unwrap();
        assert_eq!(fit.better_class, Some('r'));
        // CPU-heavy pods (1 GiB per core) on a memory family: c fits better.
        assert_eq!(family_fit("r6i", 4.0, 4.0).unwrap().better_class, Some('c'));
        // 4 GiB per core on m: already right.
        assert_eq!(family_fit("m6i", 1.0, 4.0).unwrap().better_class, None);
        assert!(family_fit("m6i", 0.0, 4.0).is_none());
        assert!(family_fit("p4d", 1.0, 1.0).is_none());
    }
}

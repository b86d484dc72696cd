//! Reports of the serving benchmarks (pull, push, startup): latency-shaped
//! figures rather than throughput, their JSON line and their table, and the
//! percentile helper they share.

use anyhow::{anyhow, Result};
use serde_json::{json, Map, Value};

/// The figures of one serving benchmark. Fields that do not apply to a
/// benchmark are None (printed as `-`, left out of the JSON).
#[derive(Debug, Clone, Default)]
pub struct ServeReport {
    /// `pull`, `push`, `startup`, `startup-server`.
    pub workload: String,
    /// What was counted: queries, deliveries, starts.
    pub count: u64,
    /// The unit of `count`.
    pub unit: String,
    /// Wall seconds over which `count` happened (None for startup).
    pub wall_s: Option<f64>,
    /// Engine CPU seconds over that time.
    pub cpu_s: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Peak (pull, push) or idle (startup) resident memory.
    pub rss_mb: Option<f64>,
    /// Benchmark-specific figures, added to the JSON as they are.
    pub extra: Map<String, Value>,
    /// None when not checked; Some(Ok) or the reason it failed.
    pub check: Option<std::result::Result<(), String>>,
}

/// Rounds to `digits` decimals (for readable JSON).
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl ServeReport {
    /// `count` per wall second.
    pub fn per_s(&self) -> Option<f64> {
        self.wall_s.map(|w| self.count as f64 / w.max(1e-9))
    }

    /// `count` per engine CPU second.
    pub fn per_cpu_s(&self) -> Option<f64> {
        self.cpu_s.map(|c| self.count as f64 / c.max(1e-9))
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> Value {
        let mut v = Map::new();
        v.insert("workload".into(), json!(self.workload));
        v.insert("count".into(), json!(self.count));
        v.insert("unit".into(), json!(self.unit));
        let mut put = |name: &str, x: Option<f64>, digits: i32| {
            if let Some(x) = x {
                v.insert(name.into(), json!(round(x, digits)));
            }
        };
        put("wall_s", self.wall_s, 3);
        put("cpu_s", self.cpu_s, 2);
        put("per_s", self.per_s(), 0);
        put("per_cpu_s", self.per_cpu_s(), 0);
        put("p50_ms", self.p50_ms, 3);
        put("p99_ms", self.p99_ms, 3);
        put("p999_ms", self.p999_ms, 3);
        put("max_ms", self.max_ms, 3);
        put("rss_mb", self.rss_mb, 1);
        for (k, x) in &self.extra {
            v.insert(k.clone(), x.clone());
        }
        if let Some(check) = &self.check {
            v.insert(
                "check".into(),
                json!(match check {
                    Ok(()) => "pass".to_string(),
                    Err(e) => format!("FAIL: {e}"),
                }),
            );
        }
        Value::Object(v)
    }

    /// A report read back from its JSON (as `--all` gets them from its
    /// child processes).
    pub fn from_json(v: &Value) -> Result<ServeReport> {
        let obj = v
            .as_object()
            .ok_or_else(|| anyhow!("a report is a JSON object"))?;
        let f = |name: &str| obj.get(name).and_then(|x| x.as_f64());
        const KNOWN: &[&str] = &[
            "workload",
            "count",
            "unit",
            "wall_s",
            "cpu_s",
            "per_s",
            "per_cpu_s",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
            "rss_mb",
            "check",
        ];
        Ok(ServeReport {
            workload: obj
                .get("workload")
                .and_then(|w| w.as_str())
                .ok_or_else(|| anyhow!("report without a workload"))?
                .to_string(),
            count: f("count").unwrap_or(0.0) as u64,
            unit: obj
                .get("unit")
                .and_then(|u| u.as_str())
                .unwrap_or("")
                .to_string(),
            wall_s: f("wall_s"),
            cpu_s: f("cpu_s"),
            p50_ms: f("p50_ms"),
            p99_ms: f("p99_ms"),
            p999_ms: f("p999_ms"),
            max_ms: f("max_ms"),
            rss_mb: f("rss_mb"),
            extra: obj
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect(),
            check: obj.get("check").and_then(|c| c.as_str()).map(|c| {
                if c == "pass" {
                    Ok(())
                } else {
                    Err(c.trim_start_matches("FAIL: ").to_string())
                }
            }),
        })
    }
}

/// Prints serving reports as a readable table.
pub fn table(reports: &[ServeReport]) -> String {
    let mut out = format!(
        "{:<15} {:>9} {:<11} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
        "workload",
        "count",
        "unit",
        "per_s",
        "per_cpu_s",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "rss_mb",
        "check"
    );
    let cell = |x: Option<f64>, digits: usize| match x {
        Some(x) => format!("{x:.digits$}"),
        None => "-".to_string(),
    };
    for r in reports {
        out += &format!(
            "{:<15} {:>9} {:<11} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
            r.workload,
            r.count,
            r.unit,
            cell(r.per_s(), 0),
            cell(r.per_cpu_s(), 0),
            cell(r.p50_ms, 3),
            cell(r.p99_ms, 3),
            cell(r.p999_ms, 3),
            cell(r.max_ms, 3),
            cell(r.rss_mb, 1),
            match &r.check {
                None => "-",
                Some(Ok(())) => "pass",
                Some(Err(_)) => "FAIL",
            }
        );
        if let Some(Value::String(note)) = r.extra.get("skipped") {
            out += &format!("  {}: skipped: {note}\n", r.workload);
        }
    }
    out
}

/// Latency percentiles of a set of samples in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Sorts `micros` and reads the nearest-rank percentiles (all zero for
    /// no samples).
    pub fn of_micros(micros: &mut [u32]) -> Percentiles {
        micros.sort_unstable();
        let at = |q: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((micros.len() - 1) as f64 * q).round() as usize;
            micros[i] as f64 / 1000.0
        };
        Percentiles {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
        }
    }
}

/// Microseconds of a duration, saturated to fit a u32 (71 minutes).
pub fn micros(d: std::time::Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_json_round_trip() {
        let mut samples: Vec<u32> = (1..=1000).rev().collect();
        let p = Percentiles::of_micros(&mut samples);
        assert_eq!(p.p50_ms, 0.501);
        assert_eq!(p.p99_ms, 0.990);
        assert_eq!(p.p999_ms, 0.999);
        assert_eq!(p.max_ms, 1.0);
        assert_eq!(Percentiles::of_micros(&mut []), Percentiles::default());

        let mut r = ServeReport {
            workload: "pull".into(),
            count: 10,
            unit: "queries".into(),
            wall_s: Some(2.0),
            p99_ms: Some(0.25),
            check: Some(Err("2 wrong rows".into())),
            ..Default::default()
        };
        r.extra.insert("keys".into(), json!(5));
        let back = ServeReport::from_json(&r.to_json()).unwrap();
        assert_eq!(back.workload, "pull");
        assert_eq!(back.per_s(), Some(5.0));
        assert_eq!(back.cpu_s, None);
        assert_eq!(back.p99_ms, Some(0.25));
        assert_eq!(back.extra.get("keys"), Some(&json!(5)));
        assert_eq!(back.check, Some(Err("2 wrong rows".into())));
        assert!(table(&[back]).contains("FAIL"));
    }
}

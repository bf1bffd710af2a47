//! A scriptable [`GpuProbe`] for tests: no GPU, no driver, deterministic.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::{GpuInfo, GpuProbe};
use crate::ProbeError;

/// Readings handed out one per call; the last one repeats once the script
/// runs out.
#[derive(Debug, Default)]
struct Script<T: Copy> {
    queue: VecDeque<Option<T>>,
    last: Option<T>,
}

impl<T: Copy> Script<T> {
    fn next(&mut self) -> Option<T> {
        if let Some(r) = self.queue.pop_front() {
            self.last = r;
        }
        self.last
    }
}

/// A fake GPU probe: a fixed list of GPUs plus, per GPU, scripted sequences
/// of memory, power and energy-counter readings.
///
/// Each `memory_used_bytes`/`power_draw_w`/`energy_counter_j` call takes the
/// next reading of that GPU's script; when the script is exhausted the last
/// reading repeats. A GPU without a script answers from its [`GpuInfo`]
/// (`vram_used_bytes`, `power.draw_w`), and `None` for energy.
#[derive(Debug, Default)]
pub struct FakeGpuProbe {
    gpus: Vec<GpuInfo>,
    error: Option<String>,
    notes: Vec<String>,
    memory: Mutex<HashMap<usize, Script<u64>>>,
    power: Mutex<HashMap<usize, Script<f64>>>,
    energy: Mutex<HashMap<usize, Script<f64>>>,
}

impl FakeGpuProbe {
    /// A probe that reports `gpus`.
    pub fn new(gpus: Vec<GpuInfo>) -> Self {
        Self {
            gpus,
            ..Self::default()
        }
    }

    /// A probe whose [`GpuProbe::gpus`] fails with [`ProbeError::Gpu`]`(message)`.
    pub fn failing(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    /// Scripts the memory readings (bytes) of GPU `index`.
    pub fn with_memory_readings(self, index: usize, readings: Vec<Option<u64>>) -> Self {
        script(&self.memory, index, readings);
        self
    }

    /// Scripts the power readings (watts) of GPU `index`.
    pub fn with_power_readings(self, index: usize, readings: Vec<Option<f64>>) -> Self {
        script(&self.power, index, readings);
        self
    }

    /// Scripts the energy-counter readings (joules) of GPU `index`.
    pub fn with_energy_readings(self, index: usize, readings: Vec<Option<f64>>) -> Self {
        script(&self.energy, index, readings);
        self
    }

    /// Adds a note, as a real probe would for a missing driver.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

fn script<T: Copy>(map: &Mutex<HashMap<usize, Script<T>>>, index: usize, r: Vec<Option<T>>) {
    if let Ok(mut m) = map.lock() {
        m.insert(
            index,
            Script {
                queue: r.into(),
                last: None,
            },
        );
    }
}

fn next<T: Copy>(map: &Mutex<HashMap<usize, Script<T>>>, index: usize) -> Option<Option<T>> {
    let mut m = map.lock().ok()?;
    m.get_mut(&index).map(Script::next)
}

impl GpuProbe for FakeGpuProbe {
    fn device_count(&self) -> usize {
        self.gpus.len()
    }

    fn gpus(&self) -> Result<Vec<GpuInfo>, ProbeError> {
        match &self.error {
            Some(e) => Err(ProbeError::Gpu(e.clone())),
            None => Ok(self.gpus.clone()),
        }
    }

    fn memory_used_bytes(&self, index: usize) -> Option<u64> {
        let g = self.gpus.get(index)?;
        next(&self.memory, index).unwrap_or(g.vram_used_bytes)
    }

    fn power_draw_w(&self, index: usize) -> Option<f64> {
        let g = self.gpus.get(index)?;
        next(&self.power, index).unwrap_or(g.power.draw_w)
    }

    fn energy_counter_j(&self, index: usize) -> Option<f64> {
        self.gpus.get(index)?;
        next(&self.energy, index).flatten()
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::GpuSource;

    #[test]
    fn scripts_advance_then_repeat_and_fall_back_to_info() {
        let mut g = GpuInfo::named(0, GpuSource::Fake, "F");
        g.vram_used_bytes = Some(5);
        g.power.draw_w = Some(50.0);
        let p = FakeGpuProbe::new(vec![g.clone(), g])
            .with_memory_readings(0, vec![Some(1), None, Some(3)])
            .with_power_readings(0, vec![Some(100.0)]);
        let mem: Vec<_> = (0..5).map(|_| p.memory_used_bytes(0)).collect();
        assert_eq!(mem, [Some(1), None, Some(3), Some(3), Some(3)]);
        assert_eq!(p.power_draw_w(0), Some(100.0));
        assert_eq!(p.power_draw_w(0), Some(100.0));
        assert_eq!(p.memory_used_bytes(1), Some(5));
        assert_eq!(p.power_draw_w(1), Some(50.0));
        assert_eq!(p.energy_counter_j(1), None);
        assert_eq!(p.memory_used_bytes(2), None);
    }
}

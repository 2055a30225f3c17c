//! Impossible travel: two in-person spends further apart than anyone could travel in the time
//! between them (great-circle distance between the merchants).

use super::{Finding, FraudRule, SpendContext};
use crate::domain::CardState;
use crate::rules::fraud::ImpossibleTravelRule;
use crate::rules::fraud::RuleMeta;

/// Mean Earth radius, kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance between two points in degrees (haversine).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

impl FraudRule for ImpossibleTravelRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn evaluate(&self, spend: &SpendContext<'_>, card: &CardState) -> Option<Finding> {
        let txn = spend.txn;
        let (lat, lon) = (txn.merchant.lat?, txn.merchant.lon?);
        let last = card.last_present.as_ref().filter(|_| txn.card_present)?;
        let distance = distance_km(last.lat, last.lon, lat, lon);
        if distance < self.min_distance_km.max(1.0) {
            return None;
        }
        let hours = (txn.timestamp - last.at).abs().as_seconds_f64() / 3600.0;
        let speed = if hours > 0.0 {
            distance / hours
        } else {
            f64::INFINITY
        };
        (speed > self.max_speed_kmh).then(|| {
            let from = last.city.as_deref().unwrap_or("one place");
            let to = txn.merchant.city.as_deref().unwrap_or("another");
            self.meta.finding(format!(
                "used in person in {from} then {to}, {distance:.0} km apart in {:.1} hours ({} km/h; limit {} km/h)",
                hours,
                if speed.is_finite() { format!("{speed:.0}") } else { "instant".to_owned() },
                self.max_speed_kmh
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::distance_km;

    #[test]
    fn haversine_matches_known_distances() {
        let shanghai_paris = distance_km(31.2304, 121.4737, 48.8566, 2.3522);
        assert!((shanghai_paris - 9_260.0).abs() < 30.0, "{shanghai_paris}");
        assert!(distance_km(10.0, 20.0, 10.0, 20.0).abs() < 1e-9);
    }
}

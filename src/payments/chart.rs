//! Bar charts of yearly cost, drawn on the server as SVG (so they print), from exact
//! decimals. Only the bar geometry is scaled; the figures shown are the exact amounts.

use rust_decimal::Decimal;

use super::money;

pub struct Bar {
    pub label: String,
    pub value: String,
    pub y: u32,
    pub width: String,
}

pub struct Chart {
    pub title: String,
    pub currency: String,
    pub bars: Vec<Bar>,
    pub height: u32,
    /// Entries beyond the top ones, summed.
    pub rest: Option<String>,
}

pub const BAR_AREA: u32 = 360;
const ROW: u32 = 26;
const TOP: usize = 10;

pub fn chart(title: &str, currency: &str, series: &[(String, Decimal)]) -> Chart {
    let max = series.iter().map(|(_, v)| *v).max().unwrap_or_default();
    let bars: Vec<Bar> = series
        .iter()
        .take(TOP)
        .enumerate()
        .map(|(i, (label, value))| {
            let width = if max.is_zero() {
                Decimal::ZERO
            } else {
                (*value * Decimal::from(BAR_AREA) / max).round_dp(1)
            };
            Bar {
                label: label.chars().take(32).collect(),
                value: money::format(*value, currency),
                y: i as u32 * ROW,
                width: width.to_string(),
            }
        })
        .collect();
    let rest: Decimal = series.iter().skip(TOP).map(|(_, v)| *v).sum();
    Chart {
        title: title.to_string(),
        currency: currency.to_string(),
        height: bars.len() as u32 * ROW + 4,
        bars,
        rest: (series.len() > TOP).then(|| {
            format!(
                "{} more: {}",
                series.len() - TOP,
                money::format(rest, currency)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest() {
        let s = vec![
            ("Slack".to_string(), Decimal::from(200)),
            ("Zoom".to_string(), Decimal::from(50)),
        ];
        let c = chart("Yearly cost", "EUR", &s);
        assert_eq!(c.bars[0].width, "360");
        assert_eq!(c.bars[1].width, "90");
        assert_eq!(c.bars[1].value, "50.00 EUR");
        assert!(c.rest.is_none());
    }
}

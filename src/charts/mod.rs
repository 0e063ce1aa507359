//! Charts, drawn with plotters on an embedded open-licensed font (DejaVu Sans), so no system fonts
//! are needed. Colours come from the Okabe-Ito palette, which stays distinguishable for readers
//! with the common forms of colour blindness.

pub mod explore;

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor};

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
static SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
static SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// The font family name charts use.
pub const FONT: &str = "sans-serif";

/// Registers the embedded fonts with plotters; safe to call many times.
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Both fonts are compiled in and known to parse; a failure would show as missing text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, SANS);
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, SANS_BOLD);
    });
}

/// Okabe-Ito colours: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, black.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(240, 228, 66),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
];

/// The palette colour for series `i` (cycling).
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn embedded_font_renders_text_into_svg() {
        register_fonts();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (320, 200)).into_drawing_area();
            root.fill(&WHITE).unwrap();
            let mut chart = ChartBuilder::on(&root)
                .caption("Survival", (FONT, 20))
                .x_label_area_size(30)
                .y_label_area_size(30)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .unwrap();
            chart.configure_mesh().x_desc("probability").draw().unwrap();
            chart
                .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], colour(0)))
                .unwrap();
            root.present().unwrap();
        }
        assert!(svg.contains("Survival"));
        assert!(svg.contains("probability"));
    }

    #[test]
    fn embedded_font_renders_text_into_png_pixels() {
        register_fonts();
        let (w, h) = (200u32, 80u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.draw(&Text::new(
                "Checkpoint",
                (10, 30),
                (FONT, 24).into_font().color(&BLACK),
            ))
            .unwrap();
            root.present().unwrap();
        }
        let dark = buf.chunks(3).filter(|p| p[0] < 128).count();
        assert!(
            dark > 50,
            "text should have drawn dark pixels, found {dark}"
        );
    }
}

//! Charts, drawn with plotters on an embedded open-licensed font (DejaVu Sans), so no system fonts
//! are needed. Colours come from the Okabe-Ito palette, which stays distinguishable for readers
//! with the common forms of colour blindness.

pub mod calibration;
pub mod cost;
pub mod differences;
pub(crate) mod draw;
pub mod explore;
pub mod labels;
pub mod over_time;
pub mod ratings;
pub mod structure;
pub mod survival;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};
use plotters::style::{FontStyle, RGBColor, WHITE};

use crate::compare::Comparison;
use crate::experiment::Summary;
use crate::export::Exporter;
use crate::export::layout;
pub use labels::Labels;

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

/// Colours for configurations, in order: the Okabe-Ito palette without its yellow, which is too
/// pale for lines and dots on white.
const SERIES: [RGBColor; 7] = [
    PALETTE[4], PALETTE[0], PALETTE[2], PALETTE[6], PALETTE[5], PALETTE[1], PALETTE[7],
];

/// The colour of configuration `i` in every chart (cycling).
pub fn series_colour(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Why a chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw chart: {0}")]
pub struct ChartError(pub String);

/// How a chart's pixels are compressed into PNG bytes. Both are lossless; they differ only in the
/// bytes of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngEncoding {
    /// zlib's default level with the `Sub` filter on every row.
    Compact,
    /// zlib's fast level with a filter chosen per row: what plotters wrote through the `image`
    /// crate when exploration charts were saved by path; kept so those files stay bit for bit.
    Quick,
}

/// A chart: a named picture of a stated size that can draw itself on any plotters backend. Every
/// chart of csmarket is drawn to bytes through this trait ([`render`]); nothing here writes files.
pub trait Chart {
    /// File stem, e.g. `survival`.
    fn name(&self) -> String;
    /// Title drawn at the top, also used as the figure caption in reports.
    fn title(&self) -> String;
    /// Width and height in pixels (SVG user units).
    fn size(&self) -> (u32, u32);
    /// Draws the chart on a white area of [`Chart::size`].
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
    /// How its PNG is compressed.
    fn png_encoding(&self) -> PngEncoding {
        PngEncoding::Compact
    }
}

/// A chart drawn both as SVG text and as PNG bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// File stem.
    pub name: String,
    /// Title.
    pub title: String,
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// The SVG document.
    pub svg: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

impl Rendered {
    /// The chart's two files, `<name>.svg` and `<name>.png`, for [`crate::export::write`].
    pub fn files(&self) -> [ChartFile<'_>; 2] {
        [ChartFile::Svg(self), ChartFile::Png(self)]
    }

    /// The files of many charts.
    pub fn all_files(charts: &[Rendered]) -> Vec<ChartFile<'_>> {
        charts.iter().flat_map(Rendered::files).collect()
    }
}

/// One file of a drawn chart.
#[derive(Debug, Clone, Copy)]
pub enum ChartFile<'a> {
    /// The SVG document.
    Svg(&'a Rendered),
    /// The PNG image.
    Png(&'a Rendered),
}

impl Exporter for ChartFile<'_> {
    fn file_name(&self) -> String {
        match self {
            ChartFile::Svg(c) => layout::chart_svg(&c.name),
            ChartFile::Png(c) => layout::chart_png(&c.name),
        }
    }

    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            ChartFile::Svg(c) => c.svg.clone().into_bytes(),
            ChartFile::Png(c) => c.png.clone(),
        })
    }
}

/// Draws a chart as an SVG document.
pub fn to_svg<C: Chart>(chart: &C) -> Result<String, ChartError> {
    register_fonts();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        area.fill(&WHITE).map_err(draw::fail)?;
        chart.draw(&area)?;
        area.present().map_err(draw::fail)?;
    }
    Ok(svg)
}

/// Draws a chart as PNG bytes (8-bit RGB).
pub fn to_png<C: Chart>(chart: &C) -> Result<Vec<u8>, ChartError> {
    register_fonts();
    let (w, h) = chart.size();
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        chart.draw(&area)?;
        area.present().map_err(draw::fail)?;
    }
    // plotters can only save PNGs to a path; encoding here lets callers write them atomically.
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if chart.png_encoding() == PngEncoding::Quick {
            enc.set_compression(png::Compression::Fast);
            enc.set_filter(png::FilterType::Sub);
            enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        }
        let mut writer = enc.write_header().map_err(draw::fail)?;
        writer.write_image_data(&pixels).map_err(draw::fail)?;
        writer.finish().map_err(draw::fail)?;
    }
    Ok(png)
}

/// Draws a chart both ways.
pub fn render<C: Chart>(chart: &C) -> Result<Rendered, ChartError> {
    Ok(Rendered {
        name: chart.name(),
        title: chart.title(),
        size: chart.size(),
        svg: to_svg(chart)?,
        png: to_png(chart)?,
    })
}

/// The charts of one or more configurations: survival, checkpoint ratings, market structure, over
/// time and cost per head.
pub fn configuration_charts(
    summaries: &[Summary],
    labels: &Labels,
) -> Result<Vec<Rendered>, ChartError> {
    Ok(vec![
        render(&survival::SurvivalChart::new(summaries, labels))?,
        render(&ratings::RatingsChart::new(summaries, labels))?,
        render(&structure::StructureChart::new(summaries, labels))?,
        render(&over_time::OverTimeChart::new(summaries, labels))?,
        render(&cost::CostChart::new(summaries))?,
    ])
}

/// The charts of a comparison: those of every configuration side by side, and the paired
/// differences against the baseline (when there is another configuration to compare).
pub fn comparison_charts(
    summaries: &[Summary],
    comparison: &Comparison,
    labels: &Labels,
) -> Result<Vec<Rendered>, ChartError> {
    let mut out = configuration_charts(summaries, labels)?;
    if !comparison.contrasts.is_empty() {
        let names: Vec<String> = summaries.iter().map(|s| s.configuration.clone()).collect();
        out.push(render(&differences::DifferencesChart::new(
            comparison, &names, summaries, labels,
        ))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare;
    use crate::model::Market;
    use crate::scenario::Scenario;
    use plotters::prelude::*;

    const SMALL: &str = include_str!("../../tests/fixtures/small.toml");

    /// Three configurations of the small market, 12 paired runs.
    fn small_comparison() -> (Vec<Summary>, Comparison, Labels) {
        let s = Scenario::from_text("small.toml", SMALL).unwrap();
        let markets: Vec<Market> = s
            .configuration_names()
            .iter()
            .map(|n| Market::compile(&s.resolve(n).unwrap(), n).unwrap())
            .collect();
        let out = compare::run(&markets, 0, 0..12, 2, &mut |_, _| Ok(()), &|_| {}).unwrap();
        (
            out.summaries,
            out.comparison,
            Labels::from_markets(&markets),
        )
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    }

    #[test]
    fn every_chart_renders_png_and_svg_of_its_stated_size() {
        let (summaries, comparison, labels) = small_comparison();
        let charts = comparison_charts(&summaries, &comparison, &labels).unwrap();
        let names: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "survival",
                "ratings",
                "structure",
                "over-time",
                "cost",
                "differences"
            ]
        );
        for c in &charts {
            assert_eq!(png_size(&c.png), c.size, "{}", c.name);
            let (w, h) = c.size;
            assert!(
                c.svg.contains(&format!(r#"width="{w}" height="{h}""#)),
                "{}",
                c.name
            );
            assert!(c.svg.contains(&c.title), "{} lacks its title", c.name);
        }
    }

    #[test]
    fn chart_size_grows_with_the_providers_it_shows() {
        let (summaries, _, labels) = small_comparison();
        let all = survival::SurvivalChart::new(&summaries, &labels).size();
        let one = survival::SurvivalChart::new(&summaries[..1], &labels).size();
        assert!(all.1 > one.1, "{all:?} vs {one:?}");
    }

    #[test]
    fn configurations_keep_one_colour_and_skip_pale_yellow() {
        assert_eq!(series_colour(0), series_colour(SERIES.len()));
        assert!((0..SERIES.len()).all(|i| series_colour(i) != PALETTE[3]));
    }

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

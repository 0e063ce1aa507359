//! libm's `log` constants (FreeBSD e_log.c), by their bits: the inline logarithms of the choice
//! kernel (`engine::kernel::ln`) and of the first normals (`box_muller`) take libm's bits only
//! with libm's constants, so both read them from here.

/// ln 2, high part.
pub(crate) const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// ln 2, low part.
pub(crate) const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// The polynomial's coefficients.
pub(crate) const LG1: f64 = f64::from_bits(0x3fe5_5555_5555_5593);
pub(crate) const LG2: f64 = f64::from_bits(0x3fd9_9999_9997_fa04);
pub(crate) const LG3: f64 = f64::from_bits(0x3fd2_4924_9422_9359);
pub(crate) const LG4: f64 = f64::from_bits(0x3fcc_71c5_1d8e_78af);
pub(crate) const LG5: f64 = f64::from_bits(0x3fc7_4664_96cb_03de);
pub(crate) const LG6: f64 = f64::from_bits(0x3fc3_9a09_d078_c69f);
pub(crate) const LG7: f64 = f64::from_bits(0x3fc2_f112_df3e_5244);

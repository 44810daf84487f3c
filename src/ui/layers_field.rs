//! The settings panel's **layers** field: a network as a stack of layers, in the words of
//! `--layers` ("patchify 4:10, relu, dense 50, relu"). Empty: the MLP's fields apply. Text
//! that does not parse, or a layer that does not fit the data set's images, is refused
//! beside the field with the reason (the layer and its input's shape), as every field is.

use egui::Ui;

use super::field::text_field;
use crate::data::{DatasetKind, ImageShape};
use crate::model::layers::{self, LayersError, Shape};
use crate::train::TrainConfig;

/// Why a layers text is refused for the settings' data set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayersFieldError {
    /// The text is not in the grammar, or a layer does not fit the images.
    #[error("layers = \"{text}\": {error}{on}")]
    Layers {
        /// The text as typed (trimmed).
        text: String,
        /// What is wrong.
        error: Box<LayersError>,
        /// " (on H×W×C images)" when the shape was the problem, else empty.
        on: String,
    },
    /// The data set is points in the plane, which layers cannot read.
    #[error(
        "layers = \"{0}\": layers read images: pick CIFAR-10, Fashion-MNIST, an image folder or \
         the practice set (the points in the plane take hidden layers)"
    )]
    NotImages(String),
}

/// The images' shape and class count the layers of `config` will read, when known without
/// loading the data (`None`: an image folder, known once read); `Err(())` for points in
/// the plane, which layers cannot read.
fn input_of(config: &TrainConfig) -> Result<Option<(Shape, usize)>, ()> {
    let shape = match config.dataset {
        DatasetKind::Cifar10 | DatasetKind::Synthetic => ImageShape::CIFAR,
        DatasetKind::FashionMnist => ImageShape::FASHION,
        // An image folder's classes are its subfolders: known once it is read.
        DatasetKind::Folder => return Ok(None),
        _ => return Err(()),
    };
    let shape = Shape {
        h: shape.height,
        w: shape.width,
        c: shape.channels,
    };
    Ok(Some((shape, 10)))
}

/// Reads `text` as layers for `config`'s data: the trimmed text, or why it cannot apply.
pub fn check_layers(text: &str, config: &TrainConfig) -> Result<String, LayersFieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let refused = |error: LayersError, on: String| LayersFieldError::Layers {
        text: t.to_string(),
        error: Box::new(error),
        on,
    };
    let specs = layers::parse(t).map_err(|e| refused(e, String::new()))?;
    let input = input_of(config).map_err(|()| LayersFieldError::NotImages(t.to_string()))?;
    if let Some((shape, classes)) = input {
        layers::describe(&specs, shape, classes).map_err(|e| {
            refused(
                e,
                format!(" (on {}×{}×{} images)", shape.h, shape.w, shape.c),
            )
        })?;
    }
    Ok(t.to_string())
}

/// Draws the field; returns whether the network is a layer stack. Turning one on clears
/// the MLP's hidden layers, batch norm and dropout (a stack writes them as layers, and the
/// two cannot be mixed).
pub fn layers_field(ui: &mut Ui, edited: &mut TrainConfig) -> bool {
    let width = (ui.available_width() - 70.0).clamp(120.0, 320.0);
    let was_stack = edited.uses_stack();
    let for_data = edited.clone();
    let response = text_field(
        ui,
        "layers",
        "A network as layers, separated by commas (the output layer to the classes is \
         implied): patchify F:N, conv K:N, pool 2, flatten, dense N, relu, tanh, sigmoid, \
         bn, dropout P. E.g. patchify 4:10, relu, dense 50, relu.\nEmpty: the hidden layers \
         below make an MLP (or none, a linear classifier). Applies at Reset.",
        width,
        &mut edited.layers,
        String::clone,
        |t| check_layers(t, &for_data),
    );
    let stack = edited.uses_stack();
    if stack && !was_stack {
        edited.hidden.clear();
        edited.batch_norm = false;
        edited.dropout = 0.0;
    }
    if stack {
        if response.error.is_none() {
            ui.weak(summary(edited));
        }
        // The builder shows the settings' network (the last one that fits) even while the
        // text typed above is refused, so a row can still be fixed from here.
        if response.error.is_some() {
            ui.weak(
                "The builder shows the last layers that read; the text above is not used \
                 until it reads (Reset waits for it).",
            );
        }
        if let Ok(Some((shape, classes))) = input_of(edited) {
            egui::CollapsingHeader::new("Network builder")
                .id_salt("network_builder")
                .default_open(true)
                .show(ui, |ui| {
                    if super::layers_builder::ui(ui, &mut edited.layers, shape, classes) {
                        // The field shows the builder's text, not what was typed before.
                        super::field::discard_typed_text(ui.ctx());
                    }
                });
        }
    }
    stack
}

/// "A layer stack: N parameters, M multiply-adds per image." for the layers of `config`.
fn summary(config: &TrainConfig) -> String {
    let described = layers::parse(&config.layers).ok().and_then(|specs| {
        let (shape, classes) = input_of(config).ok().flatten()?;
        layers::describe(&specs, shape, classes).ok()
    });
    match described {
        Some(infos) => format!(
            "A layer stack: {} parameters, {} multiply-adds per image (its hidden layers, \
             batch norm and dropout are in the text).",
            infos.iter().map(|l| l.params).sum::<usize>(),
            infos.iter().map(|l| l.multiply_adds).sum::<usize>()
        ),
        None => "A layer stack (its hidden layers, batch norm and dropout are in the text).".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Good text applies trimmed; a bad word and a layer that does not fit are refused with
    /// the layer named; empty text means the MLP.
    #[test]
    fn layers_text_is_checked_against_the_images() {
        let cifar = TrainConfig::default();
        assert_eq!(
            check_layers(" patchify 4:10, relu, dense 50 ", &cifar),
            Ok("patchify 4:10, relu, dense 50".into())
        );
        assert_eq!(check_layers("  ", &cifar), Ok(String::new()));
        let e = check_layers("patchify 4:10, rleu", &cifar)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rleu"), "{e}");
        let e = check_layers("patchify 5:10", &cifar)
            .unwrap_err()
            .to_string();
        assert!(e.contains("patchify 5:10") && e.contains("32×32×3"), "{e}");
        let plane = TrainConfig {
            dataset: DatasetKind::Spiral,
            ..TrainConfig::default()
        };
        assert!(check_layers("dense 10", &plane).is_err());
    }
}

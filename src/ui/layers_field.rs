//! The settings panel's **layers** field: a network as a stack of layers, in the words of
//! `--layers` ("patchify 4:10, relu, dense 50, relu"). Empty: the MLP's fields apply. Text
//! that does not parse, or a layer that does not fit the data set's images, is refused
//! beside the field with the reason (the layer and its input's shape), as every field is.

use egui::Ui;

use super::field::text_field;
use crate::data::{DatasetKind, ImageShape};
use crate::model::layers::{self, Shape};
use crate::train::TrainConfig;

/// The images' shape and class count the layers of `config` will read, when known without
/// loading the data (`Err`: why layers cannot apply to this data set).
fn input_of(config: &TrainConfig) -> Result<Option<(Shape, usize)>, String> {
    let shape = match config.dataset {
        DatasetKind::Cifar10 | DatasetKind::Synthetic => ImageShape::CIFAR,
        DatasetKind::FashionMnist => ImageShape::FASHION,
        // An image folder's classes are its subfolders: known once it is read.
        DatasetKind::Folder => return Ok(None),
        _ => {
            return Err(
                "layers read images: pick CIFAR-10, Fashion-MNIST, an image folder or the \
                 practice set (the points in the plane take hidden layers)"
                    .into(),
            );
        }
    };
    let shape = Shape {
        h: shape.height,
        w: shape.width,
        c: shape.channels,
    };
    Ok(Some((shape, 10)))
}

/// Reads `text` as layers for `config`'s data: the trimmed text, or why it cannot apply.
pub fn check_layers(text: &str, config: &TrainConfig) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(String::new());
    }
    let refused = |why: String| format!("layers = \"{t}\": {why}");
    let specs = layers::parse(t).map_err(|e| refused(e.to_string()))?;
    if let Some((shape, classes)) = input_of(config).map_err(refused)? {
        layers::describe(&specs, shape, classes).map_err(|e| {
            refused(format!(
                "{e} (on {}×{}×{} images)",
                shape.h, shape.w, shape.c
            ))
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
    if stack && response.error.is_none() {
        ui.weak(summary(edited));
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
        let e = check_layers("patchify 4:10, rleu", &cifar).unwrap_err();
        assert!(e.contains("rleu"), "{e}");
        let e = check_layers("patchify 5:10", &cifar).unwrap_err();
        assert!(e.contains("patchify 5:10") && e.contains("32×32×3"), "{e}");
        let plane = TrainConfig {
            dataset: DatasetKind::Spiral,
            ..TrainConfig::default()
        };
        assert!(check_layers("dense 10", &plane).is_err());
    }
}

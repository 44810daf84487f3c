//! Keyboard shortcuts: Space, R, T, the digits for tabs, Ctrl+E.

use egui::{Key, Ui};

use super::{Tab, TrainvizApp};
use crate::ui::controls::UiAction;
use crate::ui::export::ExportRequest;

impl TrainvizApp {
    /// Turns this frame's shortcut keys into actions (none while a text field has the
    /// keyboard); returns the report request of Ctrl+E.
    pub(super) fn keys(
        &mut self,
        ui: &mut Ui,
        actions: &mut Vec<UiAction>,
    ) -> Option<ExportRequest> {
        let ctx = ui.ctx().clone();
        if !ctx.egui_wants_keyboard_input() {
            let (space, r) = ui.input(|i| (i.key_pressed(Key::Space), i.key_pressed(Key::R)));
            if space {
                actions.push(if self.history.running {
                    UiAction::Pause
                } else {
                    UiAction::Start
                });
            }
            if r {
                actions.push(UiAction::Reset);
            }
            if ui.input(|i| i.key_pressed(Key::T)) {
                actions.push(UiAction::EvaluateTest);
            }
            let keys = [
                Key::Num1,
                Key::Num2,
                Key::Num3,
                Key::Num4,
                Key::Num5,
                Key::Num6,
                Key::Num7,
                Key::Num8,
                Key::Num9,
            ];
            for (key, tab) in keys.into_iter().zip(Tab::ALL) {
                if ui.input(|i| i.key_pressed(key)) {
                    self.settings.tab = tab;
                }
            }
        }
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, Key::E)) {
            return Some(ExportRequest::Report);
        }
        None
    }
}

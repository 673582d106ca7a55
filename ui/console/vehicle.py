"""The Vehicle tab: a VIN or a model and year looked up, with its open recalls, and the vehicle
handed to the Chat tab.

    tab = build_vehicle_tab(desk)   # inside the console's gr.Blocks and gr.Tabs
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.desk.agent_desk import AgentDesk
from ui.console.edge import KEEP, Keep, View, agent_event
from ui.console.markup import empty, escape

if TYPE_CHECKING:
    from assistant.desk.accounts import AgentAccount
    from assistant.desk.agent_desk import VehicleCard


def vehicle_card_html(card: VehicleCard) -> str:
    vin = f" · VIN {escape(card.vehicle.vin)}" if card.vehicle.vin else ""
    if card.recalls:
        rows = "".join(
            "<tr>"
            f"<td><strong>{escape(recall.campaign)}</strong><br>"
            f'<span class="gbx-muted">{escape(recall.effective_date or "")}</span></td>'
            f"<td>{escape(recall.component)}<br>{escape(recall.title)}</td>"
            f"<td>{escape(recall.consequence)}</td><td>{escape(recall.remedy)}</td>"
            f"<td>{_recall_flags(recall.do_not_drive, recall.park_outside)}</td></tr>"
            for recall in card.recalls
        )
        recalls = (
            "<table><thead><tr><th>Campaign</th><th>Component</th><th>Consequence</th>"
            f"<th>Remedy</th><th>Flags</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        recalls = '<div class="gbx-empty">No open recalls for this vehicle.</div>'
    return (
        f'<div class="gbx-card"><h3>{escape(card.description)}</h3>'
        f'<div class="gbx-muted">Decoded: {escape(card.vehicle.label())}{vin}</div>'
        f"<h4>Open recalls ({len(card.recalls)})</h4>{recalls}"
        f'<p class="gbx-muted">{escape(card.filter_text)}</p></div>'
    )


def _recall_flags(do_not_drive: bool, park_outside: bool) -> str:
    flags = []
    if do_not_drive:
        flags.append('<span class="gbx-badge gbx-danger">DO NOT DRIVE</span>')
    if park_outside:
        flags.append('<span class="gbx-badge gbx-warn">PARK OUTSIDE</span>')
    return " ".join(flags) or '<span class="gbx-muted">—</span>'


@dataclass(frozen=True)
class CardView(View):
    """A looked-up vehicle: its card, its label for the chat and the button that hands it over."""

    vehicle_card: str | Keep = KEEP
    card_vehicle: str | Keep = KEEP
    use_vehicle: Any = KEEP


def look_up(desk: AgentDesk, agent: AgentAccount, text: str) -> CardView:
    """The vehicle's card with its open recalls; a vehicle the desk cannot place is an error."""
    del agent  # signed in is enough
    card = desk.vehicle_card(text)
    return CardView(
        vehicle_card=vehicle_card_html(card),
        card_vehicle=card.vehicle.label(),
        use_vehicle=gr.update(interactive=True),
    )


def use_in_chat(desk: AgentDesk, agent: AgentAccount, label: str) -> tuple[str, gr.Tabs]:
    """The looked-up vehicle in the Chat tab's vehicle box, and the Chat tab shown."""
    del desk, agent
    return label, gr.Tabs(selected="chat")


@dataclass(frozen=True)
class VehicleTab:
    """The Vehicle tab's components; `use_vehicle` with `card_vehicle` feeds the Chat tab."""

    card_vehicle: gr.State
    vehicle_query: gr.Textbox
    lookup_button: gr.Button
    vehicle_card: gr.HTML
    use_vehicle: gr.Button


def build_vehicle_tab(desk: AgentDesk) -> VehicleTab:
    """The Vehicle tab and its look-up event (`use_vehicle` is wired by the console)."""
    with gr.Tab("Vehicle", id="vehicle", elem_id="tab-vehicle"):
        card_vehicle = gr.State("")
        with gr.Row(equal_height=True):
            vehicle_query = gr.Textbox(
                label="VIN or model and year",
                placeholder="e.g. a model and year, or a VIN",
                elem_id="vehicle-query",
                scale=4,
                max_lines=1,
            )
            lookup_button = gr.Button(
                "Look up", variant="primary", elem_id="vehicle-lookup", scale=1
            )
        vehicle_card = gr.HTML(
            empty("Look up a vehicle to see its open recalls."), elem_id="vehicle-card"
        )
        use_vehicle = gr.Button(
            "Use this vehicle in chat", elem_id="use-vehicle", interactive=False
        )
    tab = VehicleTab(card_vehicle, vehicle_query, lookup_button, vehicle_card, use_vehicle)
    gr.on(
        [lookup_button.click, vehicle_query.submit],
        agent_event(desk, look_up),
        inputs=[vehicle_query],
        outputs=CardView.outputs(tab),
        api_visibility="private",
    )
    return tab

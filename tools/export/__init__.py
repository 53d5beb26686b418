"""The report stage: the exported script and notebook, and the pictures."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.export.bounds_plot import draw_bounds_result as draw_bounds_result
    from causal_assistant.tools.export.notebook_run import execute_notebook as execute_notebook
    from causal_assistant.tools.export.plots import balance_plot as balance_plot
    from causal_assistant.tools.export.plots import draw_graph as draw_graph
    from causal_assistant.tools.export.plots import overlap_plot as overlap_plot
    from causal_assistant.tools.export.plots import refuter_panel as refuter_panel
    from causal_assistant.tools.export.scriptgen import render_notebook as render_notebook
    from causal_assistant.tools.export.scriptgen import render_script as render_script
    from causal_assistant.tools.export.sensitivity_plot import draw_contours as draw_contours

__getattr__ = lazy_exports(__name__, __file__)

"""Reading and preparing data: intake (load, profile, resolve columns) and the prepared
frame a model is fitted on."""

from causal_assistant.tools.lazy import TYPE_CHECKING, lazy_exports

if TYPE_CHECKING:
    from causal_assistant.tools.data.context import clean_context as clean_context
    from causal_assistant.tools.data.context import is_description as is_description
    from causal_assistant.tools.data.context import read_context as read_context
    from causal_assistant.tools.data.intake import ColumnProfile as ColumnProfile
    from causal_assistant.tools.data.intake import DatasetProfile as DatasetProfile
    from causal_assistant.tools.data.intake import file_hash as file_hash
    from causal_assistant.tools.data.intake import load_table as load_table
    from causal_assistant.tools.data.intake import profile_table as profile_table
    from causal_assistant.tools.data.intake import resolve_column as resolve_column
    from causal_assistant.tools.data.modeldata import ModelData as ModelData
    from causal_assistant.tools.data.modeldata import build_model_data as build_model_data
    from causal_assistant.tools.data.modeldata import check_outcome as check_outcome
    from causal_assistant.tools.data.modeldata import treatment_kind as treatment_kind

__getattr__ = lazy_exports(__name__, __file__)

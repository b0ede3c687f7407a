"""Image description and visual question answering with a local Hugging Face vision-language checkpoint
(any model that AutoModelForImageTextToText loads and whose processor has a chat template).
The model is loaded on first use, from a local directory only."""
from pathlib import Path

from agentlego.types import Annotated, ImageIO, Info

from puyu.tools.common import PuyuTool, ToolError, load_image

MAX_QUESTION_CHARS = 2000


class VQA(PuyuTool):
    default_desc = ("Look at an image and answer a question about it, or describe it (leave the question at its "
                    "default). Uses a local vision-language model.")
    tool_name = "vqa"

    def __init__(self, model_path: str | Path, workdir: str | Path | None = None, device: str | None = None,
                 max_new_tokens: int = 256):
        super().__init__(workdir)
        self.model_path = Path(model_path)
        if not (self.model_path / "config.json").is_file():
            raise ToolError(f"{self.model_path} is not a Hugging Face model directory (no config.json).")
        self.device = device
        self.max_new_tokens = max_new_tokens

    def setup(self):
        import torch  # heavy: only when the tool is first used
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.processor = AutoProcessor.from_pretrained(self.model_path, local_files_only=True)
            self.model = AutoModelForImageTextToText.from_pretrained(
                self.model_path, local_files_only=True, dtype="auto").to(self.device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise ToolError(f"cannot load the vision-language model at {self.model_path}: {e}") from e

    def apply(
        self,
        image: Annotated[ImageIO, Info("Path of the image to look at.")],
        question: Annotated[str, Info("What to ask about the image.")] = "Describe this image in detail.",
    ) -> Annotated[str, Info("The model's answer")]:
        import torch

        if not question.strip() or len(question) > MAX_QUESTION_CHARS:
            raise ToolError(f"question must be 1..{MAX_QUESTION_CHARS} characters.")
        img = load_image(image)
        messages = [{"role": "user", "content": [{"type": "image", "image": img},
                                                  {"type": "text", "text": question}]}]
        inputs = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                    return_dict=True, return_tensors="pt")
        inputs = inputs.to(self.model.device, dtype=self.model.dtype)  # casts only the float tensors
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new, skip_special_tokens=True)[0].strip()

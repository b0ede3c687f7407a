"""The vqa tool's real loading and generation code (AutoProcessor + AutoModelForImageTextToText) on a tiny,
randomly initialised LLaVA that the test builds and saves itself: no hub downloads."""
import json

import pytest
import torch
from PIL import Image
from puyu.tools.base import Toolbox
from puyu.tools.common import ToolError
from puyu.tools.registry import default_tools

from puyu.core.messages import ToolCall

SPECIAL = ["<unk>", "<pad>", "<s>", "</s>", "<image>", "USER:", "ASSISTANT:"]
WORDS = SPECIAL + ["a", "the", "cat", "red", "image", "what", "is", "in", "this"]
TEMPLATE = ("{% for m in messages %}USER: {% for c in m['content'] %}{% if c['type'] == 'image' %}<image> "
            "{% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
            "{% if add_generation_prompt %}ASSISTANT:{% endif %}")


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                        eos_token="</s>", extra_special_tokens={"image_token": "<image>"})
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tokenizer, patch_size=8, chat_template=TEMPLATE,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=16)
    text = LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                       bos_token_id=2, eos_token_id=3, pad_token_id=1)
    model = LlavaForConditionalGeneration(LlavaConfig(vision_config=vision, text_config=text, image_token_id=4,
                                                      vision_feature_select_strategy="default"))
    path = tmp_path_factory.mktemp("tiny-llava")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_vqa_loads_a_local_checkpoint_and_answers(tiny_vlm, tmp_path):
    Image.new("RGB", (64, 48), "red").save(tmp_path / "red.png")
    box = Toolbox(default_tools(tmp_path, None, {"vqa"}, vlm_path=str(tiny_vlm)))
    schema = box.schemas()[0]
    assert schema["name"] == "vqa" and schema["required"] == ["image"]
    res = box.run(ToolCall("vqa", {"image": str(tmp_path / "red.png"), "question": "what is in this image"}))
    assert res.ok, res.text
    words = res.text.split()
    assert words and set(words) <= set(WORDS)  # random weights: some of the vocabulary, decoded, no specials
    assert not {"<image>", "<s>", "</s>", "<pad>"} & set(words)
    again = box.run(ToolCall("vqa", {"image": str(tmp_path / "red.png"), "question": "what is in this image"}))
    assert again.text == res.text  # greedy decoding

    bad = box.run(ToolCall("vqa", {"image": str(tmp_path / "missing.png")}))
    assert not bad.ok and "No such file" in bad.text
    assert "question must be" in box.run(ToolCall("vqa", {"image": str(tmp_path / "red.png"), "question": " "})).text


def test_vqa_refuses_a_path_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(ToolError, match="not a Hugging Face model directory"):
        default_tools(tmp_path, None, {"vqa"}, vlm_path=str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "nothing-real"}))
    box = Toolbox(default_tools(tmp_path, None, {"vqa"}, vlm_path=str(tmp_path)))
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    res = box.run(ToolCall("vqa", {"image": str(tmp_path / "x.png")}))
    assert not res.ok and "cannot load the vision-language model" in res.text

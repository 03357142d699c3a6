def test_tiny_bert_loads_and_encodes(tiny_bert):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModel.from_pretrained(tiny_bert)
    enc = tok([["John", "Smith", "visited", "Ọba"]], is_split_into_words=True, return_tensors="pt")
    assert tok.unk_token_id not in enc["input_ids"][0].tolist()
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    assert len(out.hidden_states) == 4 and out.hidden_states[-1].shape[-1] == 32

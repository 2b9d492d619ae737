#!/usr/bin/env python3
"""A fake OpenAI-compatible server on loopback for neuronbench's tests: the chat-completions and completions wire
formats (with echo + logprobs / top_logprobs shaped as OpenAI documents them), plus injected faults.

Prints "PORT <n>" once listening on 127.0.0.1 (an ephemeral port), then serves until killed.

Behaviour without faults (deterministic):
- chat, JSON simulator prompt ("Reply with JSON only"): activation 10 for every token whose text (stripped, lower
  case) is a word of the neuron description, else 0, as {"activations": [{"index", "token", "activation"}, ...]}.
- chat, judge prompt (detection or fuzzing; "Answers (N, in order):"): for each "Excerpt i:" line, 1 if a word of
  the neuron description (less "the", "word", "token" and the like) is among the excerpt's words (detection) or
  among its <<marked>> words (fuzzing), else 0, as "[1, 0, …]"; with "logprobs": true, logprobs.content holds each
  answer token with top_logprobs P = 0.9 for the answer given and 0.1 for the other.
- chat, intruder prompt ("The intruder is excerpt number"): the excerpt whose <<marked>> words share the fewest
  with the other excerpts' (the first of a tie), as its number; "judge-range" answers 9, "judge-prose" no number.
- chat, explainer prompt: "the main thing this neuron does is find the word "<w>"." with w the token with the
  highest value in the last neuron's records.
- completions with echo and logprobs: the prompt split into tokens (tabs, newlines and runs of other characters);
  at each "unknown" after a tab, top_logprobs give "10" with probability 0.8 and "0" 0.2 for description words,
  "0" 0.9 and "10" 0.1 otherwise; then max_tokens generated tokens (at most 3), each the most likely at its own
  position. Fault "shifted" shifts top_logprobs and token_logprobs by one position, as llama-cpp-python 0.3.36 does.
Control endpoints:
- POST /faults ["429", "500", "hang", "truncated", "drop", "missing-token", "401", "404", "400", "echo-auth" (a 401
  whose message quotes the Authorization header), "judge-short" (one answer too few), "judge-range" (a first answer
  of 2), "judge-prose" (no list at all), "no-logprobs", "shifted", "400-schema" (a 400 refusing the JSON schema), "ok", ...]: each
  following API request takes the next fault from the queue.
- POST /config {"delay": seconds}: every API request waits this long (to observe concurrency).
- GET /stats: {"requests": n, "max_in_flight": n, "faults_left": n}
- GET /last: the body of the last API request
"""
import json
import os
import re
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "faults": [], "delay": 0.0, "last": None}


def words(description):
    return set(re.findall(r"[a-z0-9]+", description.lower()))


def unescape(token):
    return token.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


JUDGE_STOP = {"the", "a", "an", "of", "and", "word", "words", "token", "tokens"}


def judge_reply(body, user, fault):
    wanted = words(re.search(r"Neuron description: (.*)", user).group(1)) - JUDGE_STOP
    answers = []
    for line in re.findall(r"^Excerpt \d+: (.*)$", user, re.M):
        marked = re.findall(r"<<(.*?)>>", line)
        text = " ".join(marked) if "<<" in line else line
        answers.append(1 if words(unescape(text)) & wanted else 0)
    if fault == "judge-short":
        answers = answers[:-1]
    shown = [str(a) for a in answers]
    if fault == "judge-range":
        shown[0] = "2"
    content = "[" + ", ".join(shown) + "]"
    if fault == "judge-prose":
        content = "The first and third excerpts match."
    logprobs = None
    if body.get("logprobs") and fault != "no-logprobs":
        tokens = [{"token": "[", "logprob": -0.01, "top_logprobs": [{"token": "[", "logprob": -0.01}]}]
        for i, answer in enumerate(shown):
            other = "0" if answer == "1" else "1"
            tokens.append({"token": answer, "logprob": _log(0.9),
                           "top_logprobs": [{"token": answer, "logprob": _log(0.9)}, {"token": other, "logprob": _log(0.1)}]})
            tokens.append({"token": ", " if i + 1 < len(shown) else "]", "logprob": -0.01, "top_logprobs": []})
        logprobs = {"content": tokens}
    return content, logprobs


def chat_reply(body, fault):
    messages = body.get("messages", [])
    user = messages[-1]["content"] if messages else ""
    logprobs = None
    if "The intruder is excerpt number" in user:
        lines = re.findall(r"^Excerpt \d+: (.*)$", user, re.M)
        marked = [words(unescape(" ".join(re.findall(r"<<(.*?)>>", line)))) for line in lines]
        shared = [sum(len(m & marked[j]) for j in range(len(marked)) if j != i) for i, m in enumerate(marked)]
        content = str(shared.index(min(shared)) + 1)
        if fault == "judge-range":
            content = "9"
        if fault == "judge-prose":
            content = "They all look alike."
    elif "Answers (" in user and "Neuron description:" in user:
        content, logprobs = judge_reply(body, user, fault)
    elif "Reply with JSON only" in user:
        description = re.search(r"Neuron description: (.*)", user).group(1)
        wanted = words(description)
        listing = user.split("index<TAB>token:\n", 1)[1].split("\nReply with JSON only", 1)[0]
        entries = []
        for line in listing.split("\n"):
            index, token = line.split("\t", 1)
            token = unescape(token)
            entries.append({"index": int(index), "token": token, "activation": 10 if token.strip().lower() in wanted else 0})
        if fault == "missing-token":
            entries = [{k: v for k, v in e.items() if k != "index"} for e in entries]
            del entries[len(entries) // 2]
        content = json.dumps({"activations": entries})
    else:
        block = user.rsplit("<start>", 1)[0] if "The same excerpts" in user else user
        best, best_value = "nothing", -1
        for line in block.split("\n"):
            if "\t" in line:
                token, value = line.rsplit("\t", 1)
                if value.isdigit() and int(value) > best_value:
                    best, best_value = unescape(token).strip(), int(value)
        content = f'the main thing this neuron does is find the word "{best}".'
    prompt = sum(len(m["content"]) for m in messages) // 4
    return {"id": "chatcmpl-fake", "object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                         **({"logprobs": logprobs} if logprobs is not None else {})}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(content) // 4, "total_tokens": prompt + len(content) // 4}}


def completion_reply(body, fault):
    prompt = body["prompt"]
    description = re.search(r"Neuron description: (.*)", prompt).group(1)
    wanted = words(description)
    tokens = re.findall(r"\t|\n|[^\t\n]+", prompt)
    top, logprobs, offsets, offset = [], [], [], 0
    previous_line_token = None
    for i, token in enumerate(tokens):
        offsets.append(offset)
        offset += len(token)
        if i == 0:
            top.append(None); logprobs.append(None)
        elif token == "unknown" and tokens[i - 1] == "\t":
            on = unescape(previous_line_token or "").strip().lower() in wanted
            p10 = 0.8 if on else 0.1
            top.append({"10": _log(p10), "0": _log(1 - p10), " the": -9.0})
            logprobs.append(_log(0.001))
        else:
            top.append({token: -0.05}); logprobs.append(-0.05)
        if token not in ("\t", "\n"):
            if i == 0 or tokens[i - 1] == "\n":
                previous_line_token = token
    # Greedy generation of max_tokens tokens (echoed after the prompt), each the most likely at its own position.
    generated = ["The", " end", "."][: max(0, min(3, body.get("max_tokens", 16)))]
    for token in generated:
        offsets.append(offset)
        offset += len(token)
        tokens.append(token)
        top.append({token: -0.01, " x": -5.0})
        logprobs.append(-0.01)
    if fault == "shifted":
        # llama-cpp-python 0.3.36 (its issue #1983): position i holds the distribution of token i + 1.
        top = [None] + top[2:] + [{"!": -0.1}]
        logprobs = [None] + logprobs[2:] + [-3.0]
    usage = len(prompt) // 4
    return {"id": "cmpl-fake", "object": "text_completion", "model": body.get("model"),
            "choices": [{"index": 0, "text": prompt + "".join(generated), "finish_reason": "length",
                         "logprobs": {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": top, "text_offset": offsets}}],
            "usage": {"prompt_tokens": usage, "completion_tokens": len(generated), "total_tokens": usage + len(generated)}}


def _log(p):
    import math
    return math.log(p)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=None, body=None):
        data = body if body is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/last":
            with lock:
                self.send_json(200, state["last"] or {})
        elif self.path == "/stats":
            with lock:
                self.send_json(200, {"requests": state["requests"], "max_in_flight": state["max_in_flight"], "faults_left": len(state["faults"])})
        else:
            self.send_json(404, {"error": {"message": "no such path"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/faults":
            with lock:
                state["faults"].extend(body)
            return self.send_json(200, {"ok": True})
        if self.path == "/config":
            with lock:
                state.update(body)
                if body.get("reset"):
                    state.update(requests=0, max_in_flight=0, faults=[])
            return self.send_json(200, {"ok": True})
        with lock:
            state["requests"] += 1
            state["last"] = body
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            fault = state["faults"].pop(0) if state["faults"] else "ok"
            delay = state["delay"]
        try:
            time.sleep(delay)
            if fault == "hang":
                time.sleep(30)
                return
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "echo-auth":
                # A careless proxy: the rejection quotes the request's Authorization header back.
                echoed = self.headers.get("Authorization", "")
                return self.send_json(401, {"error": {"message": f"Invalid credentials in header Authorization: {echoed}"}})
            if fault == "400-schema":
                return self.send_json(400, {"error": {"message": "Invalid schema for response_format 'simulated_activations': 'prefixItems' is not permitted."}})
            if fault in ("429", "500", "400", "401", "404"):
                headers = {"Retry-After": "1"} if fault == "429" else {}
                messages = {"429": "Rate limit reached", "500": "The server had an error", "400": "Bad request",
                            "401": "Incorrect API key provided", "404": "The model `fake` does not exist"}
                return self.send_json(int(fault), {"error": {"message": messages[fault]}}, headers)
            path = self.path.split("?")[0]
            if path.endswith("/chat/completions"):
                reply = chat_reply(body, fault)
            elif path.endswith("/completions"):
                reply = completion_reply(body, fault)
            else:
                return self.send_json(404, {"error": {"message": f"unknown endpoint {self.path}"}})
            data = json.dumps(reply).encode()
            if fault == "truncated":
                data = data[: len(data) // 2]
            self.send_json(200, None, body=data)
        finally:
            with lock:
                state["in_flight"] -= 1


class Server(ThreadingHTTPServer):
    daemon_threads = True


def exit_when_orphaned():
    """Exit when standard input closes (the test that started us is gone) or after 10 minutes, whichever is first:
    a test that forgets to stop the server must not leave it running, holding its output pipe open."""
    def watch():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    threading.Timer(600, lambda: os._exit(0)).start()


def main():
    server = Server(("127.0.0.1", 0), Handler)
    exit_when_orphaned()
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

"""The Java agent LocalStack starts DynamoDB Local with, as a jar that does nothing.

LocalStack always runs DynamoDB Local with `-javaagent:ddb-local-loader-0.1.jar`, an agent
it downloads at run time whose only job is to lift DynamoDB Local's limit of 20 global
secondary indexes per table. AWS has that limit too (a default quota), so an agent that does
nothing keeps DynamoDB Local as AWS is. A JRE has no javac: the class is written here byte
by byte (the class file format of the JVM specification, chapter 4).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

AGENT_CLASS = "userdb/localstack/NoOpAgent"
_PREMAIN_DESCRIPTOR = "(Ljava/lang/String;Ljava/lang/instrument/Instrumentation;)V"
_CLASS_FILE_VERSION = 52  # Java 8: needs no stack map frames; every JVM since reads it
_PUBLIC_FINAL_SUPER = 0x0031
_PUBLIC_STATIC = 0x0009
_RETURN = 0xB1


def _utf8(text: str) -> bytes:
    data = text.encode()
    return b"\x01" + struct.pack(">H", len(data)) + data


def _class_ref(name_index: int) -> bytes:
    return b"\x07" + struct.pack(">H", name_index)


def agent_class() -> bytes:
    """`public final class NoOpAgent { public static void premain(String, Instrumentation) {} }`"""
    constants = [
        _utf8(AGENT_CLASS),  # 1
        _class_ref(1),  # 2: this class
        _utf8("java/lang/Object"),  # 3
        _class_ref(3),  # 4: its superclass
        _utf8("premain"),  # 5
        _utf8(_PREMAIN_DESCRIPTOR),  # 6
        _utf8("Code"),  # 7
    ]
    # max_stack 0, max_locals 2 (the two arguments), the code `return`, no handlers.
    code = struct.pack(">HHI", 0, 2, 1) + bytes([_RETURN]) + struct.pack(">HH", 0, 0)
    premain = struct.pack(">HHHH", _PUBLIC_STATIC, 5, 6, 1) + struct.pack(">HI", 7, len(code))
    return b"".join(
        [
            b"\xca\xfe\xba\xbe",
            struct.pack(">HHH", 0, _CLASS_FILE_VERSION, len(constants) + 1),
            *constants,
            struct.pack(">HHHHH", _PUBLIC_FINAL_SUPER, 2, 4, 0, 0),  # no interfaces, no fields
            struct.pack(">H", 1) + premain + code,  # one method
            struct.pack(">H", 0),  # no class attributes
        ]
    )


def write_agent_jar(path: Path) -> None:
    """A jar whose manifest names the no-op agent class as its Premain-Class."""
    manifest = f"Manifest-Version: 1.0\r\nPremain-Class: {AGENT_CLASS.replace('/', '.')}\r\n\r\n"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest)
        jar.writestr(f"{AGENT_CLASS}.class", agent_class())

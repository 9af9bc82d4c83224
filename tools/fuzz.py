#!/usr/bin/env python3
"""Mutation fuzzing of every reader: flips, truncates and overwrites bytes of
one fixture per format and runs inspect and convert (or verify) on each
result. Any exit other than 0 or 1 (a crash, a signal) is reported and the
input kept as /tmp/crashN.

usage: tools/fuzz.py [SEED] [INGOT_BINARY]
"""
import os, random, subprocess, sys, glob
I=sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.build/release/ingot')
F=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'Tests/IngotTests/Fixtures')
seeds=[F+'/gguf/all_types.gguf', F+'/pytorch/state_dict_zip.pt', F+'/pytorch/state_dict_legacy.pt', F+'/numpy/compressed.npz', F+'/numpy/f64_fortran.npy', F+'/safetensors/all_dtypes.safetensors', '/tmp/fz.ingot']
subprocess.run([I,'convert',F+'/safetensors/sharded-llama','-o','/tmp/fz.ingot','--compress','zstd','--force'],capture_output=True)
seeds[-1]='/tmp/fz.ingot'
rng=random.Random(int(sys.argv[1]) if len(sys.argv)>1 else 1)
crashes=0; runs=0
for seed in seeds:
    data=open(seed,'rb').read()
    ext=os.path.splitext(seed)[1]
    for k in range(120):
        b=bytearray(data)
        mode=rng.random()
        if mode<0.5:
            for _ in range(rng.randint(1,8)):
                i=rng.randrange(len(b)); b[i]=rng.randrange(256)
        elif mode<0.75:
            b=b[:rng.randrange(len(b))]
        else:
            i=rng.randrange(len(b)); n=rng.choice([1,2,4,8]); v=rng.choice([0,0xFF,0x7F,0x80])
            b[i:i+n]=bytes([v])*n
        path='/tmp/fuzzcase'+ext
        open(path,'wb').write(b)
        for cmd in (['inspect',path],['verify',path] if ext=='.ingot' else ['convert',path,'-o','/tmp/fuzzout.ingot','--force']):
            r=subprocess.run([I]+cmd,capture_output=True,timeout=30)
            runs+=1
            if r.returncode not in (0,1):
                crashes+=1
                open(f'/tmp/crash{crashes}{ext}','wb').write(b)
                print('CRASH', seed, r.returncode, r.stderr.decode()[-300:].replace('\n',' | ')[:300])
print('runs',runs,'crashes',crashes)

reset
{{setup}}
set output '{{png}}'
set title 'Reference probes: training (solid) and validation (dashed) loss'
set xlabel 'optimizer step'
set ylabel 'cross-entropy loss'
set key below
plot for [i=0:{{last}}] sprintf('curves_%d.tsv', i) using 1:2 with lines lw 2 lc i+1 title columnheader(2), \
     for [i=0:{{last}}] sprintf('curves_%d.tsv', i) using 1:3 with lines lw 2 dt 2 lc i+1 title columnheader(3)
unset output

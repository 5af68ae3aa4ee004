reset
{{setup}}
set output '{{png}}'
set title 'Learning curves of under-represented slices: accuracy on the slice against its train rows (95% intervals)'
set xlabel "the slice's train rows (log scale)"
set ylabel 'accuracy on the slice'
set logscale x 2
set autoscale xfix
set offsets graph 0.05, graph 0.05, 0, 0
set key below
plot for [i=0:{{last}}] sprintf('underrep_%d.tsv', i) using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i+1 title columnheader(2)
unset output

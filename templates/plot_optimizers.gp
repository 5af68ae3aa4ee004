reset
{{setup}}
set output '{{png}}'
set title 'Optimizers and schedules: steps to reach the target training loss (no bar: never reached)'
set ylabel 'steps'
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
set boxwidth 0.6
set xtics rotate by -45
plot 'optimizers.tsv' using 1:2:xticlabels(3) with boxes lc rgb '#9ec3e6' notitle
unset output

reset
{{setup}}
set output '{{png}}'
set title '{{ylabel}} per split, with 95% intervals'
set ylabel '{{ylabel}}'
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
set boxwidth 0.6
plot '{{data}}' using 1:3:xticlabels(2) with boxes lc rgb '#9ec3e6' notitle, \
     '' using 1:3:4:5 with yerrorbars pt 7 ps 0.8 lc rgb '#1f3f66' notitle
unset output

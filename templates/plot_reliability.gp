reset
{{setup}}
set output '{{png}}'
set title 'Reliability: accuracy against confidence per bin (on the diagonal: calibrated)'
set xlabel 'mean confidence of the predicted class in the bin'
set ylabel 'accuracy in the bin'
set xrange [0:1]
set yrange [0:1]
set grid xtics ytics lc rgb '#dddddd'
set key top left inside
if ({{has2}}) {
	plot x with lines dt 2 lc rgb '#888888' title 'calibrated', \
	     '{{data}}' using 1:2 with linespoints pt 7 lc rgb '#2c6fbb' title columnheader(2), \
	     '{{data2}}' using 1:2 with linespoints pt 5 lc rgb '#d95f02' title columnheader(2)
} else {
	plot x with lines dt 2 lc rgb '#888888' title 'calibrated', \
	     '{{data}}' using 1:2 with linespoints pt 7 lc rgb '#2c6fbb' title columnheader(2)
}
unset output
